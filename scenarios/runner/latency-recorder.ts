import * as hdr from 'hdr-histogram-js';

// Each timing is recorded twice, cheaply: into an HDR histogram (microseconds, 3 significant
// digits) for exact percentiles in the report, and into fixed buckets that the main thread turns
// into a Prometheus histogram without replaying values.

/** Prometheus bucket bounds, in seconds, shared by every chatstorm_load_* histogram. */
export const BUCKETS_SECONDS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] as const;
const BOUNDS_MS = BUCKETS_SECONDS.map((s) => s * 1000);
/** Two minutes: anything slower is recorded as two minutes. */
const MAX_US = 120_000_000;

export function newHistogram(): hdr.Histogram {
  return hdr.build({ lowestDiscernibleValue: 1, highestTrackableValue: MAX_US, numberOfSignificantValueDigits: 3, autoResize: true });
}

export interface RecorderSnapshot {
  /** Compressed base64 HDR histogram of this interval, in microseconds. */
  hdr: string;
  /** Per bucket counts of this interval (not cumulative); the last slot is +Inf. */
  buckets: number[];
  sumSeconds: number;
  count: number;
}

export class LatencyRecorder {
  private histogram = newHistogram();
  private buckets = new Float64Array(BOUNDS_MS.length + 1);
  private sumMs = 0;
  private count = 0;

  record(ms: number): void {
    const us = ms <= 0.001 ? 1 : ms >= MAX_US / 1000 ? MAX_US : Math.round(ms * 1000);
    this.histogram.recordValue(us);
    let b = 0;
    while (b < BOUNDS_MS.length && ms > BOUNDS_MS[b]!) b++;
    this.buckets[b]!++;
    this.sumMs += ms > 0 ? ms : 0;
    this.count++;
  }

  /** Returns this interval's data and starts a new interval. */
  take(): RecorderSnapshot {
    const snapshot = {
      hdr: this.count > 0 ? hdr.encodeIntoCompressedBase64(this.histogram) : '',
      buckets: Array.from(this.buckets),
      sumSeconds: this.sumMs / 1000,
      count: this.count,
    };
    this.histogram.reset();
    this.buckets.fill(0);
    this.sumMs = 0;
    this.count = 0;
    return snapshot;
  }
}

export function decodeHistogram(base64: string): hdr.Histogram | undefined {
  return base64 ? hdr.decodeFromCompressedBase64(base64, 32, false) : undefined;
}
