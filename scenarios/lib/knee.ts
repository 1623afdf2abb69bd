// Where a latency-vs-load curve turns up: Kneedle (Satopää et al., 2011) for a convex, increasing
// curve. Both axes are scaled to [0, 1]; the knee is the point furthest below the straight line
// from the first point to the last, i.e. the last load before latency starts to climb. Pure, so
// the capacity model, the planner and the report agree on one knee.

export interface CurvePoint {
  x: number;
  y: number;
}

export interface KneeOptions {
  /**
   * How far below the chord (in scaled units) the knee must lie to count: a straight or concave
   * curve has no knee, and noise on a flat one must not invent one.
   */
  minDistance?: number;
}

/** The index (in `points` as given) of the knee, or null when the curve has none. */
export function findKnee(points: readonly CurvePoint[], options: KneeOptions = {}): number | null {
  const minDistance = options.minDistance ?? 0.1;
  const order = points
    .map((p, index) => ({ ...p, index }))
    .filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y))
    .sort((a, b) => a.x - b.x);
  if (order.length < 3) return null;
  const first = order[0]!;
  const last = order[order.length - 1]!;
  const spanX = last.x - first.x;
  const minY = Math.min(...order.map((p) => p.y));
  const spanY = Math.max(...order.map((p) => p.y)) - minY;
  // Latency that never rose (or load that never moved) has no knee.
  if (spanX <= 0 || spanY <= 0 || last.y <= first.y) return null;
  let best: number | null = null;
  let bestDistance = minDistance;
  for (const p of order.slice(1, -1)) {
    const x = (p.x - first.x) / spanX;
    const y = (p.y - minY) / spanY;
    const chord = ((first.y - minY) / spanY) * (1 - x) + ((last.y - minY) / spanY) * x;
    const distance = chord - y;
    if (distance > bestDistance) {
      bestDistance = distance;
      best = p.index;
    }
  }
  return best;
}
