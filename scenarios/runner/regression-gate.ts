import { readFileSync } from 'node:fs';
import * as hdr from 'hdr-histogram-js';
import { parseDurationMs } from '../lib/duration.ts';
import type { BaselineComparison, BaselineFigure, RunResult } from '../lib/results.ts';

// The regression gate (`--baseline FILE`): this run's figures against an earlier run of the same
// profile, each with a confidence interval for its change, so that CI fails on a real regression
// and not on the noise of a shared machine.
//
// Where the noise comes from: within one run, from the spread of the timeline's intervals in the
// steady part of the load (after the ramp), as batch means (consecutive seconds are correlated, so
// they are averaged into at most BATCHES batches before the spread is taken); across runs, when
// several baseline files are given, from the spread of the repeats, which also holds what one run
// cannot see (a neighbour's job, the CPU's clock). The handshake p99 has no timeline: its interval
// is the order-statistic (binomial) interval of the quantile, read from the run's HDR histogram.

const BATCHES = 10;
const Z_95 = 1.959964;
/** Two-sided 97.5 % quantiles of Student's t for 1..30 degrees of freedom. */
const T_975 = [12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042];
const t975 = (df: number) => (df >= 1 && df <= 30 ? T_975[Math.floor(df) - 1]! : Z_95);

export const DEFAULT_TOLERANCE_PERCENT = 10;

/** A figure of one run: its value, the standard error of that value, and the degrees of freedom behind it. */
interface Estimate {
  value: number;
  se: number;
  df: number;
  /** Why there is no interval. */
  note?: string;
}

interface FigureSpec {
  name: string;
  unit: string;
  higherIsBetter: boolean;
  measure: (r: RunResult) => Estimate | undefined;
}

function batchMeans(values: number[]): Estimate | undefined {
  if (values.length === 0) return undefined;
  const b = Math.min(BATCHES, values.length);
  const means: number[] = [];
  for (let i = 0; i < b; i++) {
    const slice = values.slice(Math.floor((i * values.length) / b), Math.floor(((i + 1) * values.length) / b));
    means.push(slice.reduce((x, y) => x + y, 0) / slice.length);
  }
  return spread(means);
}

/** Mean of `xs` and its standard error; one value has no spread (df 0). */
function spread(xs: number[]): Estimate {
  const n = xs.length;
  const mean = xs.reduce((x, y) => x + y, 0) / n;
  const variance = n > 1 ? xs.reduce((s, x) => s + (x - mean) ** 2, 0) / (n - 1) : 0;
  return { value: mean, se: Math.sqrt(variance / n), df: n - 1 };
}

/** The steady part of the load: after the ramp, before the load phase ended. */
function steady<T extends { t: number }>(r: RunResult, points: T[]): T[] {
  const from = parseDurationMs(r.profile.rampUp) / 1000;
  const to = Math.min(parseDurationMs(r.profile.duration) / 1000, r.durationSeconds);
  return points.filter((p) => p.t > from && p.t <= to);
}

function handshakeP99(r: RunResult): Estimate | undefined {
  if (r.handshakeMs.count === 0) return undefined;
  const encoded = r.histograms?.handshakeUs;
  if (!encoded) return { value: r.handshakeMs.p99, se: NaN, df: 0, note: 'no handshake histogram in the file' };
  const h = hdr.decodeFromCompressedBase64(encoded);
  const n = h.totalCount;
  // Fewer than 5 expected samples above the p99: its order-statistic interval runs past the max.
  if (n * 0.01 < 5) return { value: r.handshakeMs.p99, se: NaN, df: 0, note: `${n} handshakes: too few for an interval of their p99 (500 needed)` };
  const half = Z_95 * Math.sqrt((0.99 * 0.01) / n);
  const low = h.getValueAtPercentile(Math.max(0, 99 - 100 * half)) / 1000;
  const high = h.getValueAtPercentile(Math.min(100, 99 + 100 * half)) / 1000;
  return { value: r.handshakeMs.p99, se: (high - low) / (2 * Z_95), df: Infinity };
}

/** Server CPU µs per delivered frame, per interval between two server samples. */
function cpuPerDelivery(r: RunResult): Estimate | undefined {
  const series = steady(r, r.serverSeries ?? []).filter((p) => p.cpuSeconds !== undefined);
  const timeline = steady(r, r.timeline);
  const perInterval: number[] = [];
  for (let i = 1; i < series.length; i++) {
    const a = series[i - 1]!;
    const b = series[i]!;
    let deliveries = 0;
    let previous = a.t;
    for (const p of timeline) {
      if (p.t <= a.t || p.t > b.t) continue;
      // A gap (no report in that interval) adds nothing rather than a made-up zero.
      if (p.deliveriesPerSecond !== null) deliveries += p.deliveriesPerSecond * (p.t - previous);
      previous = p.t;
    }
    if (deliveries > 0) perInterval.push(((b.cpuSeconds! - a.cpuSeconds!) * 1e6) / deliveries);
  }
  return batchMeans(perInterval);
}

/** Intervals with no report are gaps (null): left out, never counted as zero. */
function present(values: (number | null)[]): number[] {
  return values.filter((v): v is number => v !== null);
}

export const FIGURES: FigureSpec[] = [
  { name: 'deliveries/s', unit: '/s', higherIsBetter: true, measure: (r) => batchMeans(present(steady(r, r.timeline).map((p) => p.deliveriesPerSecond))) },
  {
    name: 'latency p50',
    unit: 'ms',
    higherIsBetter: false,
    measure: (r) => batchMeans(present(steady(r, r.timeline).filter((p) => (p.deliveriesPerSecond ?? 0) > 0).map((p) => p.p50Ms ?? null))),
  },
  { name: 'latency p99', unit: 'ms', higherIsBetter: false, measure: (r) => batchMeans(present(steady(r, r.timeline).filter((p) => (p.deliveriesPerSecond ?? 0) > 0).map((p) => p.p99Ms))) },
  { name: 'handshake p99', unit: 'ms', higherIsBetter: false, measure: handshakeP99 },
  { name: 'server CPU per delivery', unit: 'µs', higherIsBetter: false, measure: cpuPerDelivery },
  { name: 'server RSS', unit: 'MB', higherIsBetter: false, measure: (r) => batchMeans(steady(r, r.serverSeries ?? []).map((p) => p.rssMB)) },
];

/** The baseline side: one file's estimate, or the repeats' mean and spread. */
function baselineEstimate(spec: FigureSpec, baselines: RunResult[]): Estimate | undefined {
  const each = baselines.map((b) => spec.measure(b));
  if (each.some((e) => e === undefined)) return undefined;
  return baselines.length === 1 ? each[0] : spread(each.map((e) => e!.value));
}

function figure(spec: FigureSpec, current: Estimate, baseline: Estimate, tolerancePercent: number): BaselineFigure {
  const ratio = current.value / baseline.value;
  const relative = Math.sqrt((current.se / current.value) ** 2 + (baseline.se / baseline.value) ** 2);
  const df = Math.min(current.df, baseline.df);
  // No spread on either side (one interval, one repeat): no interval can be claimed, so no significance.
  const half = df >= 1 && Number.isFinite(relative) ? t975(df) * relative * ratio * 100 : Infinity;
  const change = (ratio - 1) * 100;
  const note = current.note ?? baseline.note ?? (df < 1 ? 'too few intervals to estimate the noise' : undefined);
  return judged(spec, baseline.value, current.value, change, change - half, change + half, tolerancePercent, note);
}

function judged(
  spec: Pick<FigureSpec, 'name' | 'unit' | 'higherIsBetter'>,
  baseline: number,
  current: number,
  change: number,
  low: number,
  high: number,
  tolerancePercent: number,
  note?: string,
): BaselineFigure {
  const significant = low > 0 || high < 0;
  const worse = spec.higherIsBetter ? change < 0 : change > 0;
  return {
    name: spec.name,
    unit: spec.unit,
    higherIsBetter: spec.higherIsBetter,
    baseline,
    current,
    changePercent: change,
    // JSON has no Infinity: an unbounded interval is written as the largest numbers there are.
    ciLowPercent: Number.isFinite(low) ? low : -Number.MAX_VALUE,
    ciHighPercent: Number.isFinite(high) ? high : Number.MAX_VALUE,
    significant,
    regressed: significant && worse && Math.abs(change) > tolerancePercent,
    ...(note ? { note } : {}),
  };
}

/** Loss in percent of expected deliveries; the change relative to the baseline's loss, or to one message when it lost none. */
function lossFigure(current: RunResult, baselines: RunResult[], tolerancePercent: number): BaselineFigure {
  const pc = current.deliveries.lossRatio;
  const nc = Math.max(1, current.deliveries.expected);
  const pb = baselines.reduce((s, b) => s + b.deliveries.lossRatio, 0) / baselines.length;
  const nb = Math.max(1, baselines.reduce((s, b) => s + b.deliveries.expected, 0));
  const se = Math.sqrt((pc * (1 - pc)) / nc + (pb * (1 - pb)) / nb);
  const scale = 100 / Math.max(pb, 1 / nb);
  const diff = pc - pb;
  return judged({ name: 'loss', unit: '%', higherIsBetter: false }, pb * 100, pc * 100, diff * scale, (diff - Z_95 * se) * scale, (diff + Z_95 * se) * scale, tolerancePercent);
}

export function compareWithBaseline(current: RunResult, baselines: RunResult[], files: string[], tolerancePercent = DEFAULT_TOLERANCE_PERCENT): BaselineComparison {
  const figures: BaselineFigure[] = [];
  for (const spec of FIGURES) {
    const c = spec.measure(current);
    const b = baselineEstimate(spec, baselines);
    // A figure one side does not have (no /metrics for AWS, no timeline in a k6 file) is not compared.
    if (!c || !b || b.value === 0 || c.value === 0) continue;
    figures.push(figure(spec, c, b, tolerancePercent));
  }
  figures.push(lossFigure(current, baselines, tolerancePercent));
  const bound = [current, ...baselines].map((r, i) => (r.generator.bottleneck ? (i === 0 ? 'this run' : files[i - 1]) : undefined)).filter(Boolean);
  const warnings = bound.length
    ? [`generator-bound: ${bound.join(', ')}; deliveries and latency there measure the load generator, not the server`]
    : [];
  return { file: files.join(', '), tolerancePercent, figures, passed: figures.every((f) => !f.regressed), ...(warnings.length ? { warnings } : {}) };
}

/** Reads the baseline files, or says clearly why one cannot be a baseline for `profile`. */
export function loadBaselines(files: string[], profile: string): RunResult[] | string {
  const results: RunResult[] = [];
  for (const file of files) {
    let parsed: Partial<RunResult>;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<RunResult>;
    } catch (error) {
      return `--baseline ${file}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : `not a results JSON (${(error as Error).message})`}`;
    }
    if (typeof parsed.scenario !== 'string' || !Array.isArray(parsed.timeline) || !parsed.deliveries) return `--baseline ${file}: not a chatstorm results JSON (no scenario, timeline or deliveries)`;
    if (parsed.scenario !== profile) {
      return `--baseline ${file} is a "${parsed.scenario}" run and this is a "${profile}" run: a baseline must be a run of the same profile`;
    }
    if (parsed.soak?.partial) return `--baseline ${file} is the checkpoint of an unfinished soak, not a finished run`;
    results.push(parsed as RunResult);
  }
  return results;
}

/** Puts the comparison on the run: a regression fails it. */
export function applyBaseline(result: RunResult, comparison: BaselineComparison): void {
  result.baseline = comparison;
  if (!comparison.passed) {
    result.passed = false;
    result.verdict = 'failed';
  }
}

const num = (n: number) => (Math.abs(n) >= 100 ? n.toFixed(0) : Math.abs(n) >= 1 ? n.toFixed(2) : n.toPrecision(3));
const pct = (n: number) => (Math.abs(n) >= Number.MAX_VALUE / 2 ? '∞' : `${n >= 0 ? '+' : ''}${n.toFixed(1)}`);

/** Lines for the terminal summary: each figure's change, its interval and whether it matters. */
export function formatBaseline(c: BaselineComparison): string {
  const lines = [`  baseline      ${c.passed ? 'no regression' : 'REGRESSED'} against ${c.file} (tolerance ${c.tolerancePercent} %, 95 % intervals)`];
  for (const f of c.figures) {
    const status = f.regressed ? 'REGRESSED' : f.significant ? ((f.higherIsBetter ? f.changePercent > 0 : f.changePercent < 0) ? 'better' : 'worse, within tolerance') : 'not significant';
    lines.push(
      `    ${f.name.padEnd(24)} ${num(f.baseline)} → ${num(f.current)} ${f.unit}`.padEnd(56) +
        ` ${pct(f.changePercent)} % [${pct(f.ciLowPercent)}, ${pct(f.ciHighPercent)}]  ${status}${f.note ? ` (${f.note})` : ''}`,
    );
  }
  for (const w of c.warnings ?? []) lines.push(`    ! ${w}`);
  return lines.join('\n');
}
