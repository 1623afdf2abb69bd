import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import type { K6Options } from '../../../k6/options.ts';
import type { K6SummaryData } from '../../../k6/summary.ts';
import { emulation, type MetricRecord, type Sample } from './state.ts';

// Runs a built k6 bundle (dist/k6*/<profile>.js, unmodified) the way k6 does, inside Node:
// one module instance per VU, setup → every VU's single iteration → teardown → handleSummary,
// with k6/* imports answered by the shims beside this file. k6 itself cannot be installed on
// these machines; this checks everything in the bundle that does not depend on k6's engine.

const SHIM = (name: string) => new URL(`./${name}.ts`, import.meta.url).href;
let registered = false;

function registerShims(): void {
  if (registered) return;
  registered = true;
  const shims: Record<string, string> = {
    'k6/websockets': SHIM('websockets'),
    'k6/experimental/websockets': SHIM('websockets'),
    'k6/timers': SHIM('timers'),
    'k6/experimental/timers': SHIM('timers'),
    'k6/http': SHIM('http'),
    'k6/metrics': SHIM('metrics'),
    'k6/execution': SHIM('execution'),
    k6: SHIM('k6'),
  };
  register(new URL('./hooks.mjs', import.meta.url), { data: { shims } });
}

interface Script {
  options: K6Options;
  setup(): unknown;
  default(data: unknown): Promise<void>;
  teardown(data: unknown): void;
  handleSummary(data: K6SummaryData): Record<string, string>;
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = (p / 100) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (rank - lo);
}

/** k6's summary values for a metric, over the samples matching `tags`. */
function values(record: MetricRecord, tags: Record<string, string>, seconds: number): Record<string, number> {
  const samples = record.samples.filter((s: Sample) => Object.entries(tags).every(([k, v]) => s.tags[k] === v));
  const v = samples.map((s) => s.value);
  switch (record.type) {
    case 'counter': {
      const count = v.reduce((a, b) => a + b, 0);
      return { count, rate: count / seconds };
    }
    case 'gauge':
      return { value: v.at(-1) ?? 0, min: Math.min(...v), max: Math.max(...v) };
    case 'rate': {
      const passes = v.filter((x) => x !== 0).length;
      return { rate: v.length ? passes / v.length : 0, passes, fails: v.length - passes };
    }
    case 'trend': {
      const sorted = [...v].sort((a, b) => a - b);
      return {
        count: sorted.length,
        avg: sorted.length ? sorted.reduce((a, b) => a + b, 0) / sorted.length : 0,
        min: sorted[0] ?? 0,
        med: percentile(sorted, 50),
        max: sorted.at(-1) ?? 0,
        'p(90)': percentile(sorted, 90),
        'p(99)': percentile(sorted, 99),
        'p(99.9)': percentile(sorted, 99.9),
      };
    }
  }
}

function parseKey(key: string): { name: string; tags: Record<string, string> } {
  const m = /^([^{]+)(?:\{(.*)\})?$/.exec(key)!;
  const tags: Record<string, string> = {};
  for (const pair of (m[2] ?? '').split(',').filter(Boolean)) {
    const [k, v] = pair.split(':');
    tags[k!.trim()] = v!.trim();
  }
  return { name: m[1]!, tags };
}

const COMPARE: Record<string, (a: number, b: number) => boolean> = {
  '<': (a, b) => a < b,
  '<=': (a, b) => a <= b,
  '>': (a, b) => a > b,
  '>=': (a, b) => a >= b,
  '==': (a, b) => a === b,
  '===': (a, b) => a === b,
  '!=': (a, b) => a !== b,
};

/** A k6 threshold expression ("p(99)<50", "count==0", "rate<0.001") against summary values. */
export function judge(expression: string, v: Record<string, number>): boolean {
  const m = /^\s*(avg|min|max|med|count|rate|value|p\(\d+(?:\.\d+)?\))\s*(<=|>=|===|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*$/.exec(expression);
  if (!m) throw new Error(`not a k6 threshold expression: "${expression}"`);
  const observed = v[m[1]!];
  if (observed === undefined) throw new Error(`"${expression}": the metric has no ${m[1]} (a ${Object.keys(v).join('/')} metric)`);
  return COMPARE[m[2]!]!(observed, Number(m[3]));
}

export interface EmulatedRun {
  options: K6Options;
  summary: K6SummaryData;
  outputs: Record<string, string>;
  /** Per threshold key, each expression with k6's verdict. */
  thresholds: Record<string, { expression: string; ok: boolean }[]>;
  violations: string[];
  sockets: { opened: number; tokenInHeader: number };
}

export async function runK6Bundle(file: string, env: Record<string, string>): Promise<EmulatedRun> {
  registerShims();
  emulation.reset();
  (globalThis as { __ENV?: Record<string, string> }).__ENV = env;
  const url = pathToFileURL(file).href;
  const first = (await import(`${url}?vu=1`)) as Script;
  const options = first.options;
  const vus = options.scenarios.viewers!.vus;
  const started = Date.now();
  // Setup data reaches VUs as JSON, as in k6.
  const data = JSON.parse(JSON.stringify(first.setup())) as unknown;
  const scripts = [first];
  for (let vu = 2; vu <= vus; vu++) scripts.push((await import(`${url}?vu=${vu}`)) as Script);
  await Promise.all(scripts.map((script, k) => emulation.vu.run(k + 1, () => script.default(data))));
  first.teardown(data);
  const seconds = (Date.now() - started) / 1000;

  const summary: K6SummaryData = { metrics: {}, state: { testRunDurationMs: seconds * 1000 } };
  const thresholds: EmulatedRun['thresholds'] = {};
  for (const [name, record] of emulation.metrics) summary.metrics[name] = { type: record.type, values: values(record, {}, seconds) };
  for (const [key, expressions] of Object.entries(options.thresholds)) {
    const { name, tags } = parseKey(key);
    const record = emulation.metrics.get(name);
    // k6 fails a threshold on a metric that never got a sample only for the parent metric.
    const v = record ? values(record, tags, seconds) : undefined;
    if (v && key !== name) summary.metrics[key] = { type: record!.type, values: v };
    thresholds[key] = expressions.map((entry) => {
      // k6's long form ({ threshold, abortOnFail }) is judged like the short one, at the end.
      const expression = typeof entry === 'string' ? entry : entry.threshold;
      return { expression, ok: v ? judge(expression, v) : true };
    });
  }
  const outputs = first.handleSummary(summary);
  return { options, summary, outputs, thresholds, violations: [...emulation.violations], sockets: { ...emulation.sockets } };
}
