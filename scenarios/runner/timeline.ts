import type { TimelinePoint } from '../lib/results.ts';

/** The busiest interval's deliveries/s; intervals with no report (null) are unknown, not zero, and are skipped. */
export function peakPerSecond(timeline: readonly TimelinePoint[]): number {
  let peak = 0;
  for (const p of timeline) if (p.deliveriesPerSecond !== null && p.deliveriesPerSecond > peak) peak = p.deliveriesPerSecond;
  return peak;
}
