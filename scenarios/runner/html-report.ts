import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseDurationMs } from '../lib/duration.ts';
import { grouped, type RunResult, type ServerSeriesPoint, type TimelinePoint } from '../lib/results.ts';
import { replayCharts } from './replay/replay-charts.ts';

// One run (or several, overlaid) as one self-contained page: the headline figures as a table and
// the series as interactive charts. The charts are uPlot's, inlined with its CSS so the file opens
// offline from a CI artifact: uPlot is small (~50 KB minified), fast on tens of thousands of
// points, made for time series first, and draws a null as a gap, which is how an interval with no
// sample must read (never as a zero). The page carries its data as one JSON block (ChartSpec
// below); the inline script only hands it to uPlot.

const require = createRequire(import.meta.url);
let uplotAssets: { js: string; css: string } | undefined;
function uplot(): { js: string; css: string } {
  uplotAssets ??= {
    js: readFileSync(require.resolve('uplot/dist/uPlot.iife.min.js'), 'utf8'),
    css: readFileSync(require.resolve('uplot/dist/uPlot.min.css'), 'utf8'),
  };
  return uplotAssets;
}

/** One line, set of points or set of bars; `run` picks its dash pattern when runs are overlaid. */
export interface SeriesSpec {
  label: string;
  color: string;
  run: number;
  kind?: 'line' | 'points' | 'bars';
  /** The right-hand axis ("y2"), for a second unit on one chart. */
  scale?: 'y' | 'y2';
  dashed?: boolean;
}

export interface ChartSpec {
  id: string;
  title: string;
  unit: string;
  xLabel: string;
  y2Label?: string;
  /**
   * Per run, uPlot's aligned data: [x, ...one array per series of that run]. Several tables are
   * joined in the page (uPlot.join): a null stays a gap, a point another run has and this one
   * lacks is spanned.
   */
  tables: (number | null)[][][];
  series: SeriesSpec[];
  /** Bar charts: the label of x = 0, 1, … */
  categories?: string[];
  vlines?: { x: number; label: string; color: string }[];
  hlines?: { y: number; label: string; color: string; scale?: 'y' | 'y2' }[];
  whiskers?: { x: number; lo: number; hi: number; color: string }[];
  /** A logarithmic left axis: a broken step's p99 is often 10-100x the others'. */
  logY?: boolean;
}

export interface ReportModel {
  title: string;
  runs: string[];
  charts: ChartSpec[];
}

const COLORS = ['#2563eb', '#dc2626', '#059669', '#7c3aed', '#d97706', '#0891b2', '#db2777', '#4b5563'];
const GREY = '#9ca3af';

const escape = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Integers grouped by thousands; others with `digits` decimals. The browser test reads these back. */
export function formatFigure(n: number | null | undefined, digits = 2): string {
  if (n === null || n === undefined) return 'n/a';
  if (!Number.isFinite(n)) return String(n);
  if (Number.isInteger(n)) return grouped(n);
  const [whole, fraction] = Math.abs(n).toFixed(digits).split('.');
  return `${n < 0 ? '-' : ''}${grouped(Number(whole))}${fraction ? `.${fraction}` : ''}`;
}

/**
 * What stopped a capacity sweep: `capacity.boundBy`, or for results written before it was recorded,
 * inferred as the runner did then (a saturated generator at a broken step is the generator's limit).
 */
export function sweepBoundBy(r: RunResult): { by: 'server' | 'generator' | 'none'; inferred: boolean } | undefined {
  const c = r.capacity;
  if (!c) return undefined;
  if (c.boundBy) return { by: c.boundBy, inferred: false };
  return { by: c.breakingStep === null ? 'none' : r.generator.bottleneck ? 'generator' : 'server', inferred: true };
}

/** What the run's headline says: never PASSED for a sweep that broke or a generator that was the limit. */
export function headlineVerdict(r: RunResult): { word: string; tone: 'pass' | 'fail' | 'warn'; detail: string } {
  const verdict = r.verdict ?? (r.passed ? 'passed' : 'failed');
  const c = r.capacity;
  const boundBy = sweepBoundBy(r);
  if (c && c.breakingStep !== null) {
    const detail = `sweep broke at step ${c.breakingStep}, bound by the ${boundBy!.by}: ${c.reason}`;
    if (verdict === 'failed') return { word: 'FAILED', tone: 'fail', detail };
    return boundBy!.by === 'generator' ? { word: 'GENERATOR-BOUND', tone: 'warn', detail } : { word: `BROKE AT STEP ${c.breakingStep}`, tone: 'fail', detail };
  }
  // A failed soak or baseline gate fails the run even in a file whose `passed` predates it.
  const gates = [...(r.soak && !r.soak.passed ? [`soak: ${r.soak.problems.join('; ') || 'failed'}`] : []), ...(r.baseline && !r.baseline.passed ? [`regressed against ${r.baseline.file}`] : [])];
  if (gates.length) return { word: 'FAILED', tone: 'fail', detail: gates.join(' · ') };
  if (verdict === 'generator-bound') return { word: 'GENERATOR-BOUND', tone: 'warn', detail: 'the load generator, not the server, was the limit; not a verdict on the server' };
  const detail = c ? `sweep did not break: ${c.reason}` : '';
  return verdict === 'passed' ? { word: 'PASSED', tone: 'pass', detail } : { word: 'FAILED', tone: 'fail', detail };
}

interface Row {
  key: string;
  label: string;
  cell: (r: RunResult) => string;
}

const sumOf = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0);

const HEADLINE: Row[] = [
  // The results file's own verdict (thresholds, audit, generator); a broken sweep is the next row's.
  { key: 'verdict', label: 'verdict (results file)', cell: (r) => r.verdict ?? (r.passed ? 'passed' : 'failed') },
  { key: 'scenario', label: 'scenario', cell: (r) => `${r.scenario} (${r.engine} engine)` },
  { key: 'target', label: 'target', cell: (r) => `${r.target.url} (${r.target.kind})` },
  { key: 'startedAt', label: 'started', cell: (r) => r.startedAt },
  { key: 'durationSeconds', label: 'duration (s)', cell: (r) => formatFigure(r.durationSeconds, 1) },
  { key: 'viewersPeak', label: 'viewers, peak', cell: (r) => formatFigure(r.viewers.peak) },
  { key: 'messagesSent', label: 'messages sent', cell: (r) => formatFigure(r.messages.sent) },
  { key: 'deliveriesPerSecond', label: 'deliveries/s, average', cell: (r) => formatFigure(r.deliveries.perSecond, 1) },
  { key: 'peakPerSecond', label: 'deliveries/s, busiest interval', cell: (r) => formatFigure(r.deliveries.peakPerSecond, 1) },
  { key: 'expected', label: 'deliveries expected', cell: (r) => formatFigure(r.deliveries.expected) },
  { key: 'delivered', label: 'delivered', cell: (r) => formatFigure(r.deliveries.delivered) },
  { key: 'missing', label: 'missing', cell: (r) => formatFigure(r.deliveries.missing) },
  { key: 'duplicated', label: 'duplicated', cell: (r) => formatFigure(r.deliveries.duplicated) },
  { key: 'outOfOrder', label: 'out of order', cell: (r) => formatFigure(r.deliveries.outOfOrder) },
  { key: 'p50', label: 'latency p50 (ms)', cell: (r) => formatFigure(r.latencyMs.p50) },
  { key: 'p99', label: 'latency p99 (ms)', cell: (r) => formatFigure(r.latencyMs.p99) },
  { key: 'p999', label: 'latency p99.9 (ms)', cell: (r) => formatFigure(r.latencyMs.p999) },
  { key: 'max', label: 'latency max (ms)', cell: (r) => formatFigure(r.latencyMs.max) },
  { key: 'handshakeP99', label: 'handshake p99 (ms)', cell: (r) => formatFigure(r.handshakeMs.p99) },
  { key: 'errors', label: 'ERROR frames', cell: (r) => formatFigure(sumOf(r.errors)) },
  { key: 'apiErrors', label: 'failed API calls', cell: (r) => formatFigure(sumOf(r.apiErrors)) },
  { key: 'generatorCpu', label: 'generator CPU (%)', cell: (r) => formatFigure(r.generator.cpuPercent, 1) },
];

const OPTIONAL_ROWS: Row[] = [
  {
    key: 'generatorBacklog',
    label: 'generator behind (ms), median / max',
    cell: (r) => {
      const b = r.generator.backlog!;
      return b.medianMs === null ? 'n/a' : `${formatFigure(b.medianMs, 1)} / ${formatFigure(b.maxMs, 1)} (limit ${formatFigure(b.limitMs, 1)}; backlog: ${b.sat})`;
    },
  },
  { key: 'serverCpu', label: 'server CPU (%)', cell: (r) => formatFigure(r.server?.cpuPercent, 1) },
  { key: 'serverRss', label: 'server RSS (MB)', cell: (r) => formatFigure(r.server?.rssMB, 1) },
  { key: 'sweep', label: 'capacity sweep', cell: (r) => (r.capacity ? (r.capacity.breakingStep === null ? 'did not break' : `broke at step ${r.capacity.breakingStep}`) : 'n/a') },
  {
    key: 'capacityBoundBy',
    label: 'sweep bound by',
    cell: (r) => {
      const b = sweepBoundBy(r);
      return b ? `${b.by}${b.inferred ? ' (inferred: no capacity.boundBy in the file)' : ''}` : 'n/a';
    },
  },
  { key: 'lastGoodViewers', label: 'last good step, viewers', cell: (r) => formatFigure(r.capacity?.lastGoodViewers) },
  { key: 'breakingStep', label: 'breaking step', cell: (r) => formatFigure(r.capacity?.breakingStep) },
  { key: 'kneeDeliveries', label: 'knee, deliveries/s', cell: (r) => formatFigure(r.capacity?.knee?.deliveriesPerSecond, 1) },
  { key: 'kneeP99', label: 'knee, p99 (ms)', cell: (r) => formatFigure(r.capacity?.knee?.p99Ms) },
  { key: 'soak', label: 'soak', cell: (r) => (r.soak ? `${r.soak.passed ? 'passed' : 'failed'}${r.soak.partial ? ' (partial checkpoint)' : ''}` : 'n/a') },
  { key: 'baseline', label: 'against baseline', cell: (r) => (r.baseline ? `${r.baseline.passed ? 'passed' : 'regressed'} (tolerance ${formatFigure(r.baseline.tolerancePercent, 1)} %)` : 'n/a') },
];

function headlineRows(runs: readonly RunResult[]): Row[] {
  const present: Record<string, (r: RunResult) => boolean> = {
    generatorBacklog: (r) => r.generator.backlog !== undefined,
    serverCpu: (r) => r.server !== undefined,
    serverRss: (r) => r.server !== undefined,
    sweep: (r) => r.capacity !== undefined,
    capacityBoundBy: (r) => r.capacity !== undefined,
    lastGoodViewers: (r) => r.capacity !== undefined,
    breakingStep: (r) => r.capacity !== undefined,
    kneeDeliveries: (r) => Boolean(r.capacity?.knee),
    kneeP99: (r) => Boolean(r.capacity?.knee),
    soak: (r) => r.soak !== undefined,
    baseline: (r) => r.baseline !== undefined,
  };
  return [...HEADLINE, ...OPTIONAL_ROWS.filter((row) => runs.some(present[row.key]!))];
}

/** [x, …series] with one series per pick, from the run's timeline; null (no sample) stays null. */
function timelineTable(timeline: readonly TimelinePoint[], picks: ((p: TimelinePoint) => number | null | undefined)[]): (number | null)[][] {
  return [timeline.map((p) => p.t), ...picks.map((pick) => timeline.map((p) => pick(p) ?? null))];
}

function suffix(runs: readonly string[], run: number): string {
  return runs.length > 1 ? ` · ${runs[run]}` : '';
}

function timeCharts(results: readonly RunResult[], names: readonly string[]): ChartSpec[] {
  const latency: ChartSpec = { id: 'latency', title: 'End-to-end latency per interval', unit: 'ms; a gap is an interval with no sample', xLabel: 's', tables: [], series: [] };
  const load: ChartSpec = {
    id: 'deliveries',
    title: 'Deliveries/s and viewers',
    unit: 'deliveries per second (left) · connected viewers (right)',
    xLabel: 's',
    y2Label: 'viewers',
    tables: [],
    series: [],
  };
  const sent: ChartSpec = { id: 'sent', title: 'Messages sent and generator CPU', unit: 'per second · % of one core', xLabel: 's', tables: [], series: [] };
  results.forEach((r, run) => {
    const s = suffix(names, run);
    latency.tables.push(timelineTable(r.timeline, [(p) => p.p50Ms, (p) => p.p99Ms]));
    latency.series.push({ label: `p50${s}`, color: COLORS[3]!, run }, { label: `p99${s}`, color: COLORS[1]!, run });
    load.tables.push(timelineTable(r.timeline, [(p) => p.deliveriesPerSecond, (p) => p.viewers, (p) => p.target]));
    load.series.push(
      { label: `delivered/s${s}`, color: COLORS[2]!, run },
      { label: `connected${s}`, color: COLORS[0]!, run, scale: 'y2' },
      { label: `target${s}`, color: GREY, run, scale: 'y2', dashed: true },
    );
    sent.tables.push(timelineTable(r.timeline, [(p) => p.sentPerSecond, (p) => p.generatorCpuPercent]));
    sent.series.push({ label: `sent/s${s}`, color: COLORS[4]!, run }, { label: `generator CPU %${s}`, color: COLORS[7]!, run, dashed: true });
  });
  const charts = [latency, load, sent];
  const backlog = backlogChart(results, names);
  if (backlog) charts.push(backlog);
  return charts;
}

/** How far behind the generator read, and the server's send queues: where a backlog sat (only when measured). */
function backlogChart(results: readonly RunResult[], names: readonly string[]): ChartSpec | undefined {
  const measured = (r: RunResult) => r.timeline.some((p) => typeof p.generatorBacklogMs === 'number');
  if (!results.some(measured)) return undefined;
  const chart: ChartSpec = {
    id: 'backlog',
    title: 'Where the backlog sat: generator receive queues and server send queues',
    unit: 'ms the generator read behind (left; a gap: unknown) · server send queues, KiB (right)',
    xLabel: 's',
    y2Label: 'KiB',
    tables: [],
    series: [],
    hlines: [],
  };
  results.forEach((r, run) => {
    if (!measured(r)) return;
    const s = suffix(names, run);
    chart.tables.push(timelineTable(r.timeline, [(p) => p.generatorBacklogMs, (p) => (typeof p.serverSendQueueBytes === 'number' ? p.serverSendQueueBytes / 1024 : null)]));
    chart.series.push({ label: `generator behind, ms${s}`, color: COLORS[1]!, run }, { label: `server send queues, KiB${s}`, color: COLORS[5]!, run, scale: 'y2', dashed: true });
    const limit = r.generator.backlog?.limitMs;
    if (limit !== undefined) chart.hlines!.push({ y: limit, label: `generator-bound above ${formatFigure(limit, 1)} ms${s}`, color: GREY });
  });
  return chart;
}

/** Grouped bars: category k of run i sits at k + offset(i), so runs stand side by side. */
function barTable(categories: readonly string[], perRun: readonly ((category: string) => number | null)[]): (number | null)[][] {
  const n = perRun.length;
  const width = 0.8 / n;
  const xs: number[] = [];
  const columns: (number | null)[][] = perRun.map(() => []);
  categories.forEach((category, k) => {
    perRun.forEach((value, i) => {
      xs.push(k - 0.4 + width * (i + 0.5));
      columns.forEach((column, j) => column.push(j === i ? value(category) : null));
    });
  });
  return [xs, ...columns];
}

function errorChart(results: readonly RunResult[], names: readonly string[]): ChartSpec | undefined {
  const categories = [...new Set(results.flatMap((r) => [...Object.keys(r.errors).map((code) => `ERROR ${code}`), ...Object.keys(r.apiErrors)]))].sort();
  if (categories.length === 0) return undefined;
  const count = (r: RunResult) => (category: string) =>
    category.startsWith('ERROR ') ? (r.errors[category.slice(6)] ?? 0) : (r.apiErrors[category] ?? 0);
  return {
    id: 'errors',
    title: 'Errors by code',
    unit: 'ERROR frames by ErrorCode · failed control-plane calls by operation and HTTP status',
    xLabel: 'code',
    categories,
    tables: [barTable(categories, results.map(count))],
    series: results.map((_, run) => ({ label: `count${suffix(names, run)}`, color: COLORS[run % COLORS.length]!, run: 0, kind: 'bars' as const })),
  };
}

const byRate = (r: RunResult) => r.profile?.stepBy === 'rate';
const stepAxis = (r: RunResult) => (byRate(r) ? 'msg/s per room' : 'viewers');

function capacityChart(results: readonly RunResult[], names: readonly string[]): ChartSpec | undefined {
  if (!results.some((r) => r.steps?.length)) return undefined;
  // The right axis shows what the steps raised: the audience, or (stepBy rate) the room's message rate.
  const stepped = results.filter((r) => r.steps?.length);
  const raised = [...new Set(stepped.map(stepAxis))];
  const y2Label = raised.join(' · ');
  const chart: ChartSpec = {
    id: 'capacity',
    title: 'Latency against load, by capacity step',
    unit: `p99 ms (left) and ${y2Label} (right) against deliveries/s; red points: broken steps`,
    xLabel: 'deliveries/s',
    y2Label,
    logY: true,
    tables: [],
    series: [],
    vlines: [],
    hlines: [],
  };
  results.forEach((r, run) => {
    if (!r.steps?.length) return;
    const s = suffix(names, run);
    // uPlot wants x ascending; the curve is read left to right by load anyway.
    const steps = [...r.steps].sort((a, b) => a.deliveriesPerSecond - b.deliveriesPerSecond);
    chart.tables.push([
      steps.map((x) => x.deliveriesPerSecond),
      steps.map((x) => x.latencyMs.p99),
      steps.map((x) => (x.broken ? x.latencyMs.p99 : null)),
      steps.map((x) => (byRate(r) ? (x.ratePerRoom ?? null) : x.viewers)),
    ]);
    chart.series.push(
      { label: `p99 ms${s}`, color: COLORS[1]!, run },
      { label: `broken step${s}`, color: '#b91c1c', run, kind: 'points' },
      { label: `${stepAxis(r)}${s}`, color: COLORS[0]!, run, scale: 'y2', dashed: true },
    );
    const knee = r.capacity?.knee;
    if (knee) chart.vlines!.push({ x: knee.deliveriesPerSecond, label: `knee: step ${knee.step}, p99 ${formatFigure(knee.p99Ms)} ms${s}`, color: COLORS[3]! });
    const slo = r.profile?.capacity?.p99;
    if (slo) chart.hlines!.push({ y: parseDurationMs(slo), label: `SLO p99 ${slo}${s}`, color: GREY });
  });
  return chart;
}

const SERIES_UNITS: Record<string, string> = {
  rssMB: 'MB',
  heapUsedMB: 'MB',
  openFds: 'fds',
  eventLoopDelayP99Ms: 'ms',
  connections: 'connections',
  kibPerConnection: 'KiB',
  p99Ms: 'ms',
};

function seriesValue(r: RunResult, name: string): { t: number[]; v: (number | null)[] } | undefined {
  const points = r.serverSeries ?? r.soak?.series;
  if (points?.length && name in points[0]!) {
    return { t: points.map((p) => p.t), v: points.map((p) => (p[name as keyof ServerSeriesPoint] as number | null | undefined) ?? null) };
  }
  if (name === 'p99Ms' || name === 'p50Ms') return { t: r.timeline.map((p) => p.t), v: r.timeline.map((p) => p[name] ?? null) };
  return undefined;
}

/** One chart per series the soak fitted (its samples and its fitted line); without a soak, the server's memory and fds. */
function serverCharts(results: readonly RunResult[], names: readonly string[]): ChartSpec[] {
  const fitted = [...new Set(results.flatMap((r) => r.soak?.slopes.map((s) => s.series) ?? []))];
  const plain = results.some((r) => (r.serverSeries ?? r.soak?.series)?.length) ? ['rssMB', 'heapUsedMB', 'openFds'].filter((n) => !fitted.includes(n)) : [];
  const charts: ChartSpec[] = [];
  for (const name of [...fitted, ...plain]) {
    const chart: ChartSpec = { id: `server-${name}`, title: `Server ${name}`, unit: SERIES_UNITS[name] ?? '', xLabel: 's', tables: [], series: [] };
    results.forEach((r, run) => {
      const data = seriesValue(r, name);
      if (!data || data.v.every((v) => v === null)) return;
      const s = suffix(names, run);
      const slope = r.soak?.slopes.find((x) => x.series === name);
      const table: (number | null)[][] = [data.t, data.v];
      chart.series.push({ label: `${name}${s}`, color: COLORS[run % COLORS.length]!, run });
      if (slope) {
        // The fit starts at the first sample after warm-up, where `intercept` is its value.
        const from = data.t.find((t) => t >= r.soak!.warmupSeconds) ?? data.t[0]!;
        table.push(data.t.map((t) => (t >= from ? slope.intercept + (slope.slopePerMinute * (t - from)) / 60 : null)));
        chart.series.push({
          label: `fit ${formatFigure(slope.slopePerMinute, 3)} ${slope.unit}/min [${formatFigure(slope.ciLowPerMinute, 3)}, ${formatFigure(slope.ciHighPerMinute, 3)}] ${slope.verdict}${s}`,
          color: slope.verdict === 'growing' ? '#b91c1c' : GREY,
          run,
          dashed: true,
        });
        chart.unit = slope.unit;
        chart.title = `Server ${name}, with the slope fitted after ${formatFigure(r.soak!.warmupSeconds, 1)} s of warm-up`;
      }
      chart.tables.push(table);
    });
    if (chart.tables.length) charts.push(chart);
  }
  return charts;
}

function baselineChart(r: RunResult, run: number, names: readonly string[]): ChartSpec | undefined {
  const b = r.baseline;
  if (!b?.figures.length) return undefined;
  const categories = b.figures.map((f) => f.name);
  return {
    id: `baseline-${run}`,
    title: `Change against the baseline${suffix(names, run)}`,
    unit: `% change with its confidence interval; tolerance ${formatFigure(b.tolerancePercent, 1)} %`,
    xLabel: 'figure',
    categories,
    tables: [[categories.map((_, k) => k), b.figures.map((f) => f.changePercent)]],
    series: [{ label: 'change %', color: COLORS[0]!, run: 0, kind: 'bars' }],
    hlines: [
      { y: b.tolerancePercent, label: `+${formatFigure(b.tolerancePercent, 1)} %`, color: GREY },
      { y: -b.tolerancePercent, label: `-${formatFigure(b.tolerancePercent, 1)} %`, color: GREY },
    ],
    whiskers: b.figures.map((f, k) => ({ x: k, lo: f.ciLowPercent, hi: f.ciHighPercent, color: f.regressed ? '#b91c1c' : '#111827' })),
  };
}

function baselineTable(r: RunResult, run: number, names: readonly string[]): string {
  const b = r.baseline!;
  const rows = b.figures
    .map(
      (f) =>
        `<tr data-figure="${escape(f.name)}" class="${f.regressed ? 'fail' : ''}"><td>${escape(f.name)}</td><td>${escape(f.unit)}</td>` +
        `<td data-col="baseline">${formatFigure(f.baseline)}</td><td data-col="current">${formatFigure(f.current)}</td>` +
        `<td data-col="changePercent">${formatFigure(f.changePercent)}</td><td data-col="ci">[${formatFigure(f.ciLowPercent)}, ${formatFigure(f.ciHighPercent)}]</td>` +
        `<td>${f.higherIsBetter ? 'higher' : 'lower'}</td><td>${f.significant ? 'yes' : 'no'}</td><td>${f.regressed ? 'REGRESSED' : 'ok'}</td></tr>`,
    )
    .join('');
  return `<h2>Against the baseline ${escape(b.file)}${escape(suffix(names, run))}: ${b.passed ? '<span class="pass">passed</span>' : '<span class="fail">regressed</span>'}</h2>
<table class="figures" id="baseline-${run}"><tr><th>figure</th><th>unit</th><th>baseline</th><th>this run</th><th>change %</th><th>95 % CI %</th><th>better</th><th>significant</th><th></th></tr>${rows}</table>`;
}

function stepsTable(r: RunResult, run: number, names: readonly string[]): string {
  // Results written before the backlog was measured have no such column.
  const backlog = r.steps!.some((s) => s.generatorBacklogMs !== undefined);
  const rows = r
    .steps!.map(
      (s) =>
        `<tr data-step="${s.step + 1}" class="${s.broken ? 'fail' : ''}"><td>${s.step + 1}${s.broken ? ' ✗' : ''}</td><td>${formatFigure(s.viewers)}</td>` +
        `<td>${formatFigure(s.ratePerRoom, 1)}</td><td>${formatFigure(s.sentPerSecond, 1)}</td>` +
        `<td>${formatFigure(s.deliveriesPerSecond, 1)}</td><td>${formatFigure(s.latencyMs.p99)}</td><td>${formatFigure(s.missing)}</td><td>${formatFigure(s.expected)}</td>` +
        (backlog ? `<td>${s.generatorBacklogMs ? `${formatFigure(s.generatorBacklogMs.median, 1)} / ${formatFigure(s.generatorBacklogMs.max, 1)}` : 'n/a'}</td>` : '') +
        '</tr>',
    )
    .join('');
  return `<h2>Capacity steps${escape(suffix(names, run))}</h2>
<table class="figures" id="steps-${run}"><tr><th>step</th><th>viewers</th><th>msg/s per room</th><th>sent/s (all rooms)</th><th>deliveries/s</th><th>p99 ms</th><th>missing</th><th>expected</th>${backlog ? '<th>generator behind ms (median / max)</th>' : ''}</tr>${rows}</table>`;
}

export function reportModel(results: readonly RunResult[], names: readonly string[]): ReportModel {
  // k6 results carry no timeline (k6 keeps its own time series): no empty time charts for them.
  const charts: ChartSpec[] = results.some((r) => r.timeline.length) ? timeCharts(results, names) : [];
  const errors = errorChart(results, names);
  if (errors) charts.push(errors);
  const capacity = capacityChart(results, names);
  if (capacity) charts.push(capacity);
  charts.push(...serverCharts(results, names));
  results.forEach((r, run) => {
    const b = baselineChart(r, run, names);
    if (b) charts.push(b);
    if (r.replay) charts.push(...replayCharts(r.replay, `replay-${run}-`));
  });
  const title = results.length === 1 ? `chatstorm ${results[0]!.scenario} — ${results[0]!.startedAt}` : `chatstorm: ${results.length} runs side by side`;
  return { title, runs: [...names], charts };
}

// Runs in the browser: builds each chart of the model with uPlot. Plain JS (no build step); the
// page exposes the instances as window.chatstormCharts so a test can see that each one exists.
const PAGE_SCRIPT = `
(() => {
  const model = JSON.parse(document.getElementById('report-data').textContent);
  const DASH = [[], [10, 5], [2, 4], [12, 4, 3, 4]];
  const fmt = (v) => v == null ? '' : Math.abs(v) >= 1e6 ? (v / 1e6).toFixed(1) + 'M' : Math.abs(v) >= 1e4 ? (v / 1e3).toFixed(1) + 'k' : String(+v.toFixed(2));
  const charts = {};
  window.chatstormCharts = charts;
  for (const c of model.charts) {
    const box = document.querySelector('[data-chart="' + c.id + '"] .plot');
    const data = c.tables.length === 1 ? c.tables[0] : uPlot.join(c.tables);
    const bars = uPlot.paths.bars({ size: [c.categories ? 0.9 : 0.6, 80], align: 0 });
    const series = [{ label: c.xLabel === 's' ? 'time, s' : c.xLabel, value: (u, v) => v == null ? '' : c.categories ? (c.categories[Math.round(v)] ?? '') : fmt(v) }];
    for (const s of c.series) {
      series.push({
        label: s.label,
        stroke: s.color,
        width: s.kind === 'bars' ? 1 : 2,
        dash: s.dashed ? [6, 4] : DASH[s.run % DASH.length],
        scale: s.scale || 'y',
        fill: s.kind === 'bars' ? s.color + '99' : undefined,
        paths: s.kind === 'bars' ? bars : s.kind === 'points' ? () => null : undefined,
        points: s.kind === 'points' ? { show: true, size: 9, fill: s.color, stroke: s.color } : { show: c.id === 'capacity' },
        spanGaps: false,
        value: (u, v) => fmt(v),
      });
    }
    const axes = [
      c.categories
        ? { splits: () => c.categories.map((_, k) => k), values: (u, splits) => splits.map((k) => c.categories[k] ?? ''), rotate: 0, size: 40 }
        : { values: (u, splits) => splits.map((v) => fmt(v) + (c.xLabel === 's' ? ' s' : '')) },
      { scale: 'y', values: (u, splits) => splits.map(fmt), size: 60 },
    ];
    if (c.series.some((s) => s.scale === 'y2')) axes.push({ scale: 'y2', side: 1, label: c.y2Label, values: (u, splits) => splits.map(fmt), grid: { show: false }, size: 60 });
    const scales = { x: { time: false }, y: c.logY ? { distr: 3 } : {}, y2: {} };
    if (c.categories) scales.x.range = [-0.6, c.categories.length - 0.4];
    if (c.categories || c.id.startsWith('baseline')) scales.y.range = (u, min, max) => [Math.min(0, min, ...(c.whiskers || []).map((w) => w.lo), ...(c.hlines || []).map((h) => h.y)) * 1.1, Math.max(0, max, ...(c.whiskers || []).map((w) => w.hi), ...(c.hlines || []).map((h) => h.y)) * 1.1 || 1];
    const marks = (u) => {
      const ctx = u.ctx;
      ctx.save();
      ctx.font = String(11 * devicePixelRatio) + 'px system-ui, sans-serif';
      for (const l of c.vlines || []) {
        const x = u.valToPos(l.x, 'x', true);
        ctx.strokeStyle = l.color; ctx.fillStyle = l.color; ctx.setLineDash([4, 4]); ctx.lineWidth = 1.5 * devicePixelRatio;
        ctx.beginPath(); ctx.moveTo(x, u.bbox.top); ctx.lineTo(x, u.bbox.top + u.bbox.height); ctx.stroke();
        // Labels right of the line, unless that runs off the plot.
        const w = ctx.measureText(l.label).width;
        ctx.fillText(l.label, x + 4 + w > u.bbox.left + u.bbox.width ? x - 4 - w : x + 4, u.bbox.top + 14 * devicePixelRatio * (1 + (c.vlines.indexOf(l) % 3)));
      }
      for (const l of c.hlines || []) {
        const y = u.valToPos(l.y, l.scale || 'y', true);
        ctx.strokeStyle = l.color; ctx.fillStyle = l.color; ctx.setLineDash([2, 3]); ctx.lineWidth = 1 * devicePixelRatio;
        ctx.beginPath(); ctx.moveTo(u.bbox.left, y); ctx.lineTo(u.bbox.left + u.bbox.width, y); ctx.stroke();
        ctx.fillText(l.label, u.bbox.left + 4, y - 3);
      }
      ctx.setLineDash([]);
      for (const w of c.whiskers || []) {
        const x = u.valToPos(w.x, 'x', true), lo = u.valToPos(w.lo, 'y', true), hi = u.valToPos(w.hi, 'y', true), cap = 6 * devicePixelRatio;
        ctx.strokeStyle = w.color; ctx.lineWidth = 2 * devicePixelRatio;
        ctx.beginPath(); ctx.moveTo(x, lo); ctx.lineTo(x, hi); ctx.moveTo(x - cap, lo); ctx.lineTo(x + cap, lo); ctx.moveTo(x - cap, hi); ctx.lineTo(x + cap, hi); ctx.stroke();
      }
      ctx.restore();
    };
    charts[c.id] = new uPlot({ width: Math.max(320, box.clientWidth), height: 260, series, axes, scales, hooks: { draw: [marks] } }, data, box);
  }
})();
`;

/** The page for one run, or several overlaid (`names` labels them; one table column per run). */
export function renderHtmlReport(input: RunResult | readonly RunResult[], names?: readonly string[]): string {
  const results: readonly RunResult[] = Array.isArray(input) ? input : [input as RunResult];
  const labels = names ?? results.map((r, i) => (results.length > 1 ? `run ${i + 1}: ${r.scenario} ${r.startedAt}` : r.scenario));
  const model = reportModel(results, labels);
  const { js, css } = uplot();
  const heading =
    results.length === 1
      ? (() => {
          const v = headlineVerdict(results[0]!);
          return `<h1 id="headline">chatstorm ${escape(results[0]!.scenario)}: <span class="${v.tone}">${escape(v.word)}</span></h1>${v.detail ? `<p class="${v.tone}" id="verdict-detail">${escape(v.detail)}</p>` : ''}`;
        })()
      : `<h1 id="headline">chatstorm: ${results.length} runs side by side</h1><ul>${results
          .map((r, i) => {
            const v = headlineVerdict(r);
            return `<li data-run="${i}">${escape(labels[i]!)}: <span class="${v.tone}">${escape(v.word)}</span>${v.detail ? ` — ${escape(v.detail)}` : ''}</li>`;
          })
          .join('')}</ul>`;
  const rows = headlineRows(results);
  const table = `<table class="figures" id="figures"><tr><th></th>${labels.map((l, i) => `<th data-run="${i}">${escape(l)}</th>`).join('')}</tr>${rows
    .map((row) => `<tr data-figure="${row.key}"><td>${escape(row.label)}</td>${results.map((r, i) => `<td data-run="${i}">${escape(row.cell(r))}</td>`).join('')}</tr>`)
    .join('')}</table>`;
  const thresholds = results
    .map((r, i) =>
      r.thresholds.length
        ? `<h2>Thresholds${escape(suffix(labels, i))}</h2><ul>${r.thresholds
            .map((t) => `<li class="${t.pass ? 'pass' : 'fail'}">${t.pass ? 'PASS' : 'FAIL'} <code>${escape(t.expression)}</code> observed ${escape(t.observed === null ? (t.note ?? 'n/a') : formatFigure(t.observed, 3))}</li>`)
            .join('')}</ul>`
        : '',
    )
    .join('');
  const warnings = results.flatMap((r, i) => r.generator.warnings.map((w) => `<li class="warn">${escape(w)}${escape(suffix(labels, i))}</li>`)).join('');
  const tables = results
    .map((r, i) => `${r.steps?.length ? stepsTable(r, i, labels) : ''}${r.baseline ? baselineTable(r, i, labels) : ''}`)
    .join('');
  const audits = results
    .map((r, i) => {
      const a = r.audit;
      if (!a) return '';
      return `<p class="${a.passed ? 'pass' : 'fail'}">chat-log audit${escape(suffix(labels, i))}: ${a.passed ? 'PASS' : 'FAIL'}: acknowledged ${formatFigure(a.messages.acknowledged)} · logged ${formatFigure(a.messages.logged)} · missing from log ${formatFigure(a.messages.missing)} · duplicated in log ${formatFigure(a.messages.duplicated)}${escape(a.problems.map((p) => ` — ${p}`).join(''))}</p>`;
    })
    .join('');
  const sections = model.charts
    .map((c) => `<section class="chart" data-chart="${escape(c.id)}"><h2>${escape(c.title)} <small>${escape(c.unit)}</small></h2><div class="plot"></div></section>`)
    .join('\n');
  // "<" escaped so no string in the data can close the script element.
  const data = JSON.stringify(model).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${escape(model.title)}</title>
<style>${css}</style>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:920px;color:#111;padding:0 12px}
h1{font-size:20px;margin:0 0 4px} h2{font-size:15px;margin:20px 0 4px} small{font-weight:400;color:#6b7280}
table.figures{border-collapse:collapse;margin:12px 0} .figures td,.figures th{padding:2px 12px 2px 0;vertical-align:top;text-align:left}
.figures td:first-child{color:#6b7280} .pass{color:#047857} .fail{color:#b91c1c} .warn{color:#b45309}
.chart{margin:18px 0} .plot{width:100%}
</style></head><body>
${heading}
${table}
${warnings ? `<ul>${warnings}</ul>` : ''}
${audits}
${thresholds}
${tables}
${results.map((r) => (r.replay ? `<p>Replay of ${escape(r.replay.source)} at ${r.replay.speed}x: schedule drift p50 ${formatFigure(r.replay.driftMs.p50)} ms · p99 ${formatFigure(r.replay.driftMs.p99)} ms · max ${formatFigure(r.replay.driftMs.max)} ms over ${formatFigure(r.replay.driftMs.count)} sends.</p>` : '')).join('')}
${results.some((r) => r.timeline.length === 0) ? `<p class="warn" id="no-timeline">${escape(labels.filter((_, i) => results[i]!.timeline.length === 0).join(', '))}: no timeline in the results file (k6 runs keep theirs in k6's own outputs), so no charts over time.</p>` : ''}
${sections}
<script type="application/json" id="report-data">${data}</script>
<script>${js}</script>
<script>${PAGE_SCRIPT}</script>
</body></html>
`;
}

/** The model a page carries, read back (tests; a script that post-processes reports). */
export function readReportModel(html: string): ReportModel {
  const m = /<script type="application\/json" id="report-data">([\s\S]*?)<\/script>/.exec(html);
  if (!m) throw new Error('not a chatstorm report page: no report-data block');
  return JSON.parse(m[1]!) as ReportModel;
}
