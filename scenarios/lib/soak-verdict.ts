import { parseDurationMs } from './duration.ts';
import type { Profile } from './profile.ts';
import type { RunResult, ServerSeriesPoint, SlopeVerdict, SoakResult, TimelinePoint } from './results.ts';

// The soak verdict: after warm-up, does any server figure keep growing, and does latency drift?
//
// Slope: Theil–Sen (the median of every pairwise slope), which a GC sawtooth, a reconnect wave or
// a few wild samples do not drag the way least squares would. Its confidence interval is Sen's
// (1968), from the variance of Kendall's S: closed-form, deterministic (no seed to agree on,
// the same file always gets the same verdict) and distribution-free, where a bootstrap of a time
// series would need a block scheme and a seed. Sen's interval assumes independent residuals; a
// memory series is autocorrelated, so its interval is somewhat too narrow: that is why a series
// fails only when the whole interval lies above a stated limit, not merely above zero.

export const SOAK_SERIES = ['rssMB', 'heapUsedMB', 'openFds', 'eventLoopDelayP99Ms', 'connections', 'kibPerConnection', 'p99Ms'] as const;
export type SoakSeries = (typeof SOAK_SERIES)[number];

/**
 * Per minute: a series fails when its slope's whole confidence interval lies above max(0, limit).
 * Overridden per run by the profile's soak.limits (--set soak.limits.rssMB=5).
 */
export const SOAK_LIMITS: Record<SoakSeries, { unit: string; perMinute: number; what: string; growth: 'a leak' | 'a drift' }> = {
  rssMB: { unit: 'MB', perMinute: 1, what: 'server RSS', growth: 'a leak' },
  heapUsedMB: { unit: 'MB', perMinute: 1, what: 'server heap used', growth: 'a leak' },
  openFds: { unit: 'fds', perMinute: 0, what: 'server open file descriptors', growth: 'a leak' },
  eventLoopDelayP99Ms: { unit: 'ms', perMinute: 1, what: 'server event-loop delay p99', growth: 'a drift' },
  // Viewers are steady after warm-up: connections that keep climbing are sockets never closed.
  connections: { unit: 'connections', perMinute: 0, what: 'server connections', growth: 'a leak' },
  kibPerConnection: { unit: 'KiB', perMinute: 1, what: 'server memory per connection', growth: 'a leak' },
  p99Ms: { unit: 'ms', perMinute: 2, what: 'delivery latency p99', growth: 'a drift' },
};

/** Fewer samples after warm-up than this and a slope means nothing. */
export const MIN_SOAK_SAMPLES = 10;
/** Pairwise slopes grow with n²: a longer series is averaged into this many bins first (keeps the trend). */
const MAX_POINTS = 400;
const Z_95 = 1.959964;


export interface Slope {
  /** Per unit of x. */
  slope: number;
  low: number;
  high: number;
  /** Of the line through the median point, at x0 (the first x). */
  intercept: number;
}

function median(sorted: ArrayLike<number>): number {
  const n = sorted.length;
  return n % 2 ? sorted[(n - 1) / 2]! : (sorted[n / 2 - 1]! + sorted[n / 2]!) / 2;
}

function thin(xs: number[], ys: number[]): [number[], number[]] {
  if (xs.length <= MAX_POINTS) return [xs, ys];
  const bx: number[] = [];
  const by: number[] = [];
  for (let b = 0; b < MAX_POINTS; b++) {
    const from = Math.floor((b * xs.length) / MAX_POINTS);
    const to = Math.floor(((b + 1) * xs.length) / MAX_POINTS);
    let sx = 0;
    let sy = 0;
    for (let i = from; i < to; i++) {
      sx += xs[i]!;
      sy += ys[i]!;
    }
    bx.push(sx / (to - from));
    by.push(sy / (to - from));
  }
  return [bx, by];
}

/** Theil–Sen slope with Sen's 95 % confidence interval; undefined with fewer than 3 points or one distinct x. */
export function theilSen(xIn: number[], yIn: number[]): Slope | undefined {
  const [x, y] = thin(xIn, yIn);
  const n = x.length;
  const slopes: number[] = [];
  for (let i = 0; i < n; i++) {
    for (let j = i + 1; j < n; j++) {
      if (x[j] !== x[i]) slopes.push((y[j]! - y[i]!) / (x[j]! - x[i]!));
    }
  }
  if (n < 3 || slopes.length === 0) return undefined;
  const sorted = Float64Array.from(slopes).sort();
  const slope = median(sorted);
  // Var(S) with the correction for tied values (an fd count is mostly ties).
  const ties = new Map<number, number>();
  for (const v of y) ties.set(v, (ties.get(v) ?? 0) + 1);
  let tieTerm = 0;
  for (const t of ties.values()) tieTerm += t * (t - 1) * (2 * t + 5);
  const varS = (n * (n - 1) * (2 * n + 5) - tieTerm) / 18;
  const c = Z_95 * Math.sqrt(Math.max(0, varS));
  const N = sorted.length;
  // Sen: the lower limit is the M1-th smallest slope, the upper the (M2 + 1)-th (1-based).
  const m1 = Math.floor((N - c) / 2);
  const m2 = Math.ceil((N + c) / 2);
  const low = sorted[Math.min(N - 1, Math.max(0, m1 - 1))]!;
  const high = sorted[Math.min(N - 1, Math.max(0, m2))]!;
  const ys = Float64Array.from(y).sort();
  const xs = Float64Array.from(x).sort();
  const intercept = median(ys) - slope * (median(xs) - x[0]!);
  return { slope, low, high, intercept };
}

/** Judges one series: x in seconds, y in `series`' unit; the limit is per minute. */
export function judgeSlope(series: SoakSeries | string, unit: string, x: number[], y: number[], limitPerMinute: number): SlopeVerdict {
  const fit = x.length >= MIN_SOAK_SAMPLES ? theilSen(x, y) : undefined;
  if (!fit) {
    return {
      series,
      unit,
      slopePerMinute: 0,
      ciLowPerMinute: 0,
      ciHighPerMinute: 0,
      intercept: y[0] ?? 0,
      samples: x.length,
      limitPerMinute,
      verdict: 'too-few-samples',
    };
  }
  const low = fit.low * 60;
  return {
    series,
    unit,
    slopePerMinute: fit.slope * 60,
    ciLowPerMinute: low,
    ciHighPerMinute: fit.high * 60,
    intercept: fit.intercept,
    samples: x.length,
    limitPerMinute,
    verdict: low > Math.max(0, limitPerMinute) ? 'growing' : 'flat',
  };
}

export function warmupSeconds(profile: Profile): number {
  if (profile.soak?.warmup) return parseDurationMs(profile.soak.warmup) / 1000;
  const ramp = parseDurationMs(profile.rampUp);
  return (ramp + (parseDurationMs(profile.duration) - ramp) / 5) / 1000;
}

export function samplePeriodMs(profile: Profile): number {
  if (profile.soak?.samplePeriod) return Math.max(100, parseDurationMs(profile.soak.samplePeriod));
  return Math.min(5000, Math.max(1000, parseDurationMs(profile.duration) / 100));
}

const fmt = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(2));

export interface SoakInput {
  profile: Profile;
  series: ServerSeriesPoint[];
  timeline: TimelinePoint[];
  /** Seconds since the load start when the load phase ended (samples after it are the drain). */
  loadEndSeconds: number;
  missing: number;
  expected: number;
  partial?: boolean;
}

/** The verdict on a soak: a slope per series, and every problem in one sentence. */
export function judgeSoak(i: SoakInput): SoakResult {
  const warmup = warmupSeconds(i.profile);
  // A loop, not Object.fromEntries: lib/ also type-checks against k6's older ES library.
  const limits = {} as Record<SoakSeries, number>;
  for (const name of SOAK_SERIES) limits[name] = i.profile.soak?.limits?.[name] ?? SOAK_LIMITS[name].perMinute;
  const judged = i.series.filter((p) => p.t >= warmup && p.t <= i.loadEndSeconds);
  const slopes: SlopeVerdict[] = [];
  const problems: string[] = [];
  const consider = (name: SoakSeries, points: { t: number; v: number | null }[]) => {
    const present = points.filter((p): p is { t: number; v: number } => p.v !== null && Number.isFinite(p.v));
    // A figure the target does not export at all is not judged (e.g. no fd count off Linux).
    if (present.length === 0 && points.every((p) => p.v === null) && points.length > 0) return;
    const verdict = judgeSlope(name, SOAK_LIMITS[name].unit, present.map((p) => p.t), present.map((p) => p.v), limits[name]);
    slopes.push(verdict);
    const what = SOAK_LIMITS[name].what;
    if (verdict.verdict === 'growing') {
      problems.push(
        `${what} grows ${fmt(verdict.slopePerMinute)} ${verdict.unit}/min (95 % CI ${fmt(verdict.ciLowPerMinute)} to ${fmt(verdict.ciHighPerMinute)}), above the limit of ${fmt(verdict.limitPerMinute)} ${verdict.unit}/min: ${SOAK_LIMITS[name].growth}`,
      );
    } else if (verdict.verdict === 'too-few-samples' && !i.partial) {
      problems.push(`${what}: ${verdict.samples} sample(s) after the ${fmt(warmup)} s warm-up, at least ${MIN_SOAK_SAMPLES} are needed to judge a slope (a longer soak or a shorter --set soak.samplePeriod)`);
    }
  };
  for (const name of ['rssMB', 'heapUsedMB', 'openFds', 'eventLoopDelayP99Ms', 'connections', 'kibPerConnection'] as const) {
    consider(name, judged.map((p) => ({ t: p.t, v: p[name] })));
  }
  // Intervals with no delivery have no latency: a gap, not a zero.
  const latency = i.timeline.filter((p) => p.t >= warmup && p.t <= i.loadEndSeconds && (p.deliveriesPerSecond ?? 0) > 0 && p.p99Ms !== null);
  consider('p99Ms', latency.map((p) => ({ t: p.t, v: p.p99Ms })));
  if (i.missing > 0) problems.push(`${i.missing} of ${i.expected} expected deliveries were lost: a soak allows none`);
  return {
    warmupSeconds: warmup,
    series: i.series,
    slopes,
    problems,
    passed: problems.length === 0,
    ...(i.partial ? { partial: true } : {}),
  };
}

/** Puts the verdict on the run: a failed soak fails the run, whatever its thresholds said. */
export function applySoakVerdict(result: RunResult, soak: SoakResult): void {
  result.soak = soak;
  if (!soak.passed) {
    result.passed = false;
    result.verdict = 'failed';
  }
}

/** Lines for the terminal summary. */
export function formatSoak(soak: SoakResult): string {
  const lines = [`  soak          ${soak.passed ? 'passed' : 'FAILED'}${soak.partial ? ' (partial: checkpoint of a soak still running)' : ''}, slopes after a ${fmt(soak.warmupSeconds)} s warm-up:`];
  for (const s of soak.slopes) {
    lines.push(
      s.verdict === 'too-few-samples'
        ? `    ${s.series.padEnd(20)} ${s.samples} sample(s): too few to judge`
        : `    ${s.series.padEnd(20)} ${fmt(s.slopePerMinute)} ${s.unit}/min [${fmt(s.ciLowPerMinute)}, ${fmt(s.ciHighPerMinute)}] limit ${fmt(s.limitPerMinute)}: ${s.verdict}`,
    );
  }
  for (const p of soak.problems) lines.push(`    ✗ ${p}`);
  return lines.join('\n');
}
