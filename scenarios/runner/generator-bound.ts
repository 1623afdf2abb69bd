import type { GeneratorBacklog } from '../lib/results.ts';

// Whether the generator, not the server, decided a figure: one rule for a run, a capacity step
// (capacity.ts's verdict, via report.ts) and a sweep window (capacity-sweep.ts).
//
// The signal is where the backlog sits. Bytes the server sent that wait unread in the generator's
// receive queues (receive-backlog.ts) are time the generator is behind; when they stay near empty
// while latency grows, the backlog is in the server. The generator's CPU share is not that signal:
// with a fixed audience a busier reader carries more frames per socket read, so it can run at 95 %
// and still read every frame within a few ms. CPU decides only where the backlog is unknown (off
// Linux, /proc unreadable, k6), as it did before the backlog was measured.

/** A generator this many ms behind at the median interval is the limit: a quarter of the p99 limit (25 ms at p99 ≤ 100 ms). */
export function backlogLimitMs(p99LimitMs: number): number {
  return p99LimitMs / 4;
}

export interface GeneratorSignals {
  /** The generator's backlog (ms of its traffic) at the median of the intervals judged; null when unknown. */
  backlogMs: number | null;
  /** CPU ≥ 85 % of its cores for ≥ 20 % of the intervals (generator-load.ts). */
  cpuBusy: boolean;
  /**
   * Worker event loops ≥ 100 ms late (generator-load.ts): timers that late mean frames read that
   * late, a direct measure like the backlog (which a 1 s sample can miss between two stalls), not
   * a proxy like CPU. Not known per step or window.
   */
  lagging: boolean;
}

export type BoundBy = 'backlog' | 'event-loop lag' | 'cpu' | null;

/** What made the generator the limit, or null when it was not. */
export function generatorBoundBy(s: GeneratorSignals, p99LimitMs: number): BoundBy {
  if (s.lagging) return 'event-loop lag';
  if (s.backlogMs !== null) return s.backlogMs > backlogLimitMs(p99LimitMs) ? 'backlog' : null;
  return s.cpuBusy ? 'cpu' : null;
}

export function isGeneratorBound(s: GeneratorSignals, p99LimitMs: number): boolean {
  return generatorBoundBy(s, p99LimitMs) !== null;
}

/** The median of the known values; null when none is known. */
export function medianKnown(values: readonly (number | null | undefined)[]): number | null {
  const known = values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v)).sort((a, b) => a - b);
  if (known.length === 0) return null;
  const mid = known.length >> 1;
  return known.length % 2 ? known[mid]! : (known[mid - 1]! + known[mid]!) / 2;
}

interface BacklogPoint {
  t: number;
  /** Connected viewers in the interval: what the server's send queues are judged per. */
  viewers?: number;
  generatorBacklogMs?: number | null;
  serverSendQueueBytes?: number | null;
}

/** Median and max of the known values, or null. */
export function spread(values: readonly (number | null | undefined)[]): { median: number; max: number } | null {
  const median = medianKnown(values);
  if (median === null) return null;
  return { median, max: Math.max(...values.filter((v): v is number => typeof v === 'number' && Number.isFinite(v))) };
}

/**
 * A step's intervals: those that ended within it (the first second after a break belongs to the
 * next, which never ran). Steps start at `fromMs` (after the join, for rate steps: Plan.stepsFromMs).
 */
export function stepBacklog(points: readonly BacklogPoint[], stepMs: number, step: number, fromMs = 0): { median: number; max: number } | null {
  const start = fromMs + step * stepMs;
  const within = points.filter((p) => p.t * 1000 > start && p.t * 1000 <= start + stepMs);
  return spread(within.map((p) => p.generatorBacklogMs));
}

/** Where the backlog sat over `points` (the load phase's intervals). */
export function backlogSummary(points: readonly BacklogPoint[], p99LimitMs: number): GeneratorBacklog {
  const generator = spread(points.map((p) => p.generatorBacklogMs));
  const server = spread(points.map((p) => p.serverSendQueueBytes));
  const limitMs = backlogLimitMs(p99LimitMs);
  let sat: GeneratorBacklog['sat'] = 'unknown';
  if (generator) {
    // A server that keeps more than a few frames per socket queued is behind on its sends; a few
    // hundred bytes a socket (unacknowledged, on loopback) is what a healthy fan-out holds in flight.
    const perConnection = medianKnown(points.map((p) => (p.serverSendQueueBytes != null && p.viewers ? p.serverSendQueueBytes / p.viewers : null)));
    sat = generator.median > limitMs ? 'generator' : perConnection !== null && perConnection > SERVER_QUEUE_BYTES_PER_CONNECTION ? 'server' : 'neither';
  }
  return { medianMs: generator?.median ?? null, maxMs: generator?.max ?? null, limitMs, serverSendQueueBytes: server, sat };
}

/** The server's send queues above this per connection (bytes, about four MESSAGE frames) at the median interval hold a backlog. */
const SERVER_QUEUE_BYTES_PER_CONNECTION = 1024;
