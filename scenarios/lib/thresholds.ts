import type { Percentiles, RunResult, ThresholdVerdict } from './results.ts';

// Thresholds read like k6's: "p99 < 50ms", "loss == 0", "errors < 0.1%". A metric with a "%" limit
// is judged as a ratio (loss: missing / expected, errors: ERROR frames / messages sent, …);
// without it, as a count. Latency limits take ms or s. k6's own spelling "p(99)<50" also parses.

export type Operator = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Threshold {
  expression: string;
  metric: string;
  operator: Operator;
  limit: number;
  unit: '' | 'ms' | 's' | '%';
}

const LATENCY_STATS = ['p50', 'p90', 'p99', 'p999', 'max', 'mean'] as const;
type LatencyStat = (typeof LATENCY_STATS)[number];
const LATENCY_SOURCES = { '': 'latencyMs', 'handshake.': 'handshakeMs', 'token.': 'tokenMs', 'ack.': 'ackLatencyMs' } as const;

const COUNTABLE = ['loss', 'duplicates', 'outOfOrder', 'errors', 'connectErrors', 'acked', 'rejected'] as const;
const PLAIN = ['deliveriesPerSecond', 'messagesPerSecond', 'viewers'] as const;

const PATTERN = /^\s*([A-Za-z_][A-Za-z0-9_.]*(?:\(\s*[\d.]+\s*\))?)\s*(<=|>=|==|!=|<|>)\s*(-?\d+(?:\.\d+)?)\s*(ms|s|%)?\s*$/;

function normalizeMetric(raw: string): string {
  // k6's p(99) / p(99.9) / avg / med spellings.
  const k6 = /^(?:(\w+)\.)?p\(\s*([\d.]+)\s*\)$/.exec(raw);
  if (k6) return `${k6[1] ? `${k6[1]}.` : ''}p${k6[2]!.replace('.', '')}`;
  return raw.replace(/(^|\.)avg$/, '$1mean').replace(/(^|\.)med$/, '$1p50');
}

export function parseThreshold(expression: string): Threshold {
  const m = PATTERN.exec(expression);
  if (!m) throw new Error(`cannot read threshold "${expression}" (expected e.g. "p99 < 50ms", "loss == 0", "errors < 0.1%")`);
  const metric = normalizeMetric(m[1]!);
  const unit = (m[4] ?? '') as Threshold['unit'];
  const t: Threshold = { expression: expression.trim(), metric, operator: m[2] as Operator, limit: Number(m[3]), unit };
  const latency = latencyMetric(metric);
  if (latency) {
    if (unit === '%') throw new Error(`threshold "${expression}": a latency takes ms or s, not %`);
  } else if ((COUNTABLE as readonly string[]).includes(metric)) {
    if (unit === 'ms' || unit === 's') throw new Error(`threshold "${expression}": ${metric} is a count or a %`);
  } else if ((PLAIN as readonly string[]).includes(metric)) {
    if (unit !== '') throw new Error(`threshold "${expression}": ${metric} takes a plain number`);
  } else {
    throw new Error(
      `threshold "${expression}": unknown metric "${metric}" (known: ${LATENCY_STATS.join(', ')}, handshake.p99, token.p99, ack.p99, ${COUNTABLE.join(', ')}, ${PLAIN.join(', ')})`,
    );
  }
  return t;
}

/**
 * Whether a saturated generator can make this threshold fail on its own: latencies and rates can,
 * the exact counts (loss, duplicates, order, errors) cannot — the ledger counts what arrived, not when.
 */
export function generatorCanFail(expression: string): boolean {
  const { metric } = parseThreshold(expression);
  return latencyMetric(metric) !== undefined || (PLAIN as readonly string[]).includes(metric);
}

function latencyMetric(metric: string): { source: keyof typeof LATENCY_SOURCES; stat: LatencyStat } | undefined {
  for (const source of Object.keys(LATENCY_SOURCES) as (keyof typeof LATENCY_SOURCES)[]) {
    if (!metric.startsWith(source)) continue;
    const stat = metric.slice(source.length);
    if ((LATENCY_STATS as readonly string[]).includes(stat)) return { source, stat: stat as LatencyStat };
  }
  return undefined;
}

function ratio(part: number, whole: number): number | null {
  return whole > 0 ? part / whole : part === 0 ? 0 : null;
}

/** The observed value in the threshold's own unit (ms for latency, percent for %), or null. */
export function observe(t: Threshold, r: RunResult): number | null {
  const latency = latencyMetric(t.metric);
  if (latency) {
    const p = r[LATENCY_SOURCES[latency.source]] as Percentiles;
    if (p.count === 0) return null;
    return t.unit === 's' ? p[latency.stat] / 1000 : p[latency.stat];
  }
  const pct = t.unit === '%';
  const d = r.deliveries;
  const errorFrames = Object.values(r.errors).reduce((a, b) => a + b, 0);
  const connects = r.viewers.connects;
  const attempts = connects.ok + connects.refused + connects.error;
  let value: number | null;
  switch (t.metric) {
    case 'loss':
      value = pct ? ratio(d.missing, d.expected) : d.missing;
      break;
    case 'duplicates':
      value = pct ? ratio(d.duplicated, d.delivered) : d.duplicated;
      break;
    case 'outOfOrder':
      value = pct ? ratio(d.outOfOrder, d.delivered) : d.outOfOrder;
      break;
    case 'errors':
      value = pct ? ratio(errorFrames, r.messages.sent) : errorFrames;
      break;
    case 'connectErrors':
      value = pct ? ratio(connects.refused + connects.error, attempts) : connects.refused + connects.error;
      break;
    case 'acked':
      value = pct ? ratio(r.messages.acked, r.messages.sent) : r.messages.acked;
      break;
    case 'rejected':
      value = pct ? ratio(r.messages.rejected, r.messages.sent) : r.messages.rejected;
      break;
    case 'deliveriesPerSecond':
      return d.perSecond;
    case 'messagesPerSecond':
      return r.messages.perSecond;
    case 'viewers':
      return r.viewers.peak;
    default:
      return null;
  }
  return value === null ? null : pct ? value * 100 : value;
}

export function compare(observed: number, operator: Operator, limit: number): boolean {
  switch (operator) {
    case '<':
      return observed < limit;
    case '<=':
      return observed <= limit;
    case '>':
      return observed > limit;
    case '>=':
      return observed >= limit;
    case '==':
      return Math.abs(observed - limit) < 1e-9;
    case '!=':
      return Math.abs(observed - limit) >= 1e-9;
  }
}

export function evaluateThresholds(expressions: readonly string[], r: RunResult): ThresholdVerdict[] {
  return expressions.map((expression) => {
    const t = parseThreshold(expression);
    const observed = observe(t, r);
    if (observed === null) return { expression: t.expression, observed: null, pass: false, note: 'no data' };
    return { expression: t.expression, observed, pass: compare(observed, t.operator, t.limit) };
  });
}
