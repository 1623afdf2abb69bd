import { parseDurationMs } from '../lib/duration.ts';
import type { Profile } from '../lib/profile.ts';
import {
  CONNECT_OUTCOMES,
  DISCONNECT_REASONS,
  emptyPercentiles,
  MODERATION_ACTIONS,
  RESULTS_SCHEMA_VERSION,
  type Percentiles,
  type RunResult,
} from '../lib/results.ts';
import { evaluateThresholds } from '../lib/thresholds.ts';
import { METRIC, PROTOCOL_ERROR_CODES } from './options.ts';

// handleSummary's half that needs no k6 module: k6's end-of-test data → the same results shape
// the Node runner writes. Pure, so it is tested in Node with a crafted summary.

export interface K6Metric {
  type: string;
  values: Record<string, number>;
  /** k6's own verdicts, by threshold expression. */
  thresholds?: Record<string, { ok: boolean }>;
}

export interface K6SummaryData {
  metrics: Record<string, K6Metric | undefined>;
  state: { testRunDurationMs: number };
}

export interface K6RunInfo {
  url: string;
  vus: number;
  startedAt: number;
  lagBoundMs: number;
}

// Object.fromEntries is ES2019: older k6 engines may lack it.
function record<K extends string, V>(keys: readonly K[], value: (k: K) => V): Record<K, V> {
  const out = {} as Record<K, V>;
  for (const k of keys) out[k] = value(k);
  return out;
}

function count(data: K6SummaryData, name: string): number {
  return data.metrics[name]?.values.count ?? 0;
}

function spread(data: K6SummaryData, name: string): { p50: number; p99: number; max: number } {
  const v = data.metrics[name]?.values;
  return { p50: v?.med ?? 0, p99: v?.['p(99)'] ?? 0, max: v?.max ?? 0 };
}

/** k6 thresholds that failed, as "metric: expression" (the run's exit 99). */
export function failedK6Thresholds(data: K6SummaryData): string[] {
  const failed: string[] = [];
  for (const name of Object.keys(data.metrics)) {
    const verdicts = data.metrics[name]?.thresholds ?? {};
    for (const expression of Object.keys(verdicts)) if (!verdicts[expression]!.ok) failed.push(`${name}: ${expression}`);
  }
  return failed;
}

function trend(data: K6SummaryData, name: string): Percentiles {
  const v = data.metrics[name]?.values;
  if (!v || !v.count) return emptyPercentiles();
  return { count: v.count, p50: v.med ?? 0, p90: v['p(90)'] ?? 0, p99: v['p(99)'] ?? 0, p999: v['p(99.9)'] ?? 0, max: v.max ?? 0, mean: v.avg ?? 0 };
}

export function buildK6Result(data: K6SummaryData, profile: Profile, info: K6RunInfo): RunResult {
  const seconds = data.state.testRunDurationMs / 1000;
  // Rates over the load phase, as the Node runner reports them.
  const loadSeconds = Math.max(1, parseDurationMs(profile.duration) / 1000);
  const expected = count(data, METRIC.expected);
  const missing = count(data, METRIC.missing);
  const errors: Record<string, number> = {};
  for (const code of PROTOCOL_ERROR_CODES) {
    const n = count(data, `${METRIC.errors}{code:${code}}`);
    if (n > 0) errors[code] = n;
  }
  const lagMs = spread(data, METRIC.generatorLag);
  const boundVus = count(data, METRIC.boundVus);
  // Decided per VU (lib/lag-probe.ts), as the abort and its exit code 108 were: any VU over the
  // bound taints its viewers' figures.
  const generatorBound = boundVus > 0;
  const by = <K extends string>(keys: readonly K[], metric: (k: K) => string) => record(keys, (k) => count(data, metric(k)));
  const result: RunResult = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    scenario: profile.name,
    engine: 'k6',
    target: { url: info.url, kind: 'url' },
    startedAt: new Date(info.startedAt).toISOString(),
    durationSeconds: seconds,
    profile,
    viewers: {
      peak: count(data, METRIC.peakViewers),
      target: profile.viewers,
      connects: by(CONNECT_OUTCOMES, (o) => `${METRIC.connects}{outcome:${o}}`),
      disconnects: by(DISCONNECT_REASONS, (r) => `${METRIC.disconnects}{reason:${r}}`),
    },
    handshakeMs: trend(data, METRIC.handshake),
    tokenMs: trend(data, METRIC.token),
    messages: {
      sent: count(data, METRIC.sent),
      acked: count(data, METRIC.acked),
      rejected: count(data, METRIC.rejected),
      unacked: count(data, METRIC.unacked),
      perSecond: count(data, METRIC.sent) / loadSeconds,
    },
    ackLatencyMs: trend(data, METRIC.ackLatency),
    deliveries: {
      expected,
      delivered: expected - missing,
      missing,
      duplicated: count(data, METRIC.duplicated),
      outOfOrder: count(data, METRIC.outOfOrder),
      frames: count(data, METRIC.deliveries),
      perSecond: count(data, METRIC.deliveries) / loadSeconds,
      // k6's summary has no per-second peak: the average stands in.
      peakPerSecond: count(data, METRIC.deliveries) / loadSeconds,
      lossRatio: expected > 0 ? missing / expected : 0,
      accounting: 'gaps',
    },
    latencyMs: trend(data, METRIC.latency),
    errors,
    apiErrors: count(data, METRIC.apiErrors) > 0 ? { all: count(data, METRIC.apiErrors) } : {},
    moderation: {
      actions: record(MODERATION_ACTIONS, (a) => ({
        websocket: count(data, `${METRIC.moderation}{action:${a},via:websocket}`),
        http: count(data, `${METRIC.moderation}{action:${a},via:http}`),
      })),
      eventsReceived: {
        deleteMessage: count(data, `${METRIC.moderationEvents}{action:delete_message}`),
        disconnectUser: count(data, `${METRIC.moderationEvents}{action:disconnect_user}`),
      },
    },
    generator: {
      cpuPercent: null,
      cores: 0,
      workers: info.vus,
      rssMB: 0,
      eventLoopDelayP99Ms: lagMs.p99,
      bottleneck: generatorBound,
      warnings: [
        ...(generatorBound
          ? [
              `generator-bound: ${boundVus} VU(s) lagged beyond ${info.lagBoundMs} ms (p99 over all VUs ${lagMs.p99.toFixed(1)} ms): latency and loss describe k6, not the server; give k6 fewer viewers per VU or more cores`,
            ]
          : []),
        `delivery latency is not corrected for k6's own lag (p99 ${lagMs.p99.toFixed(1)} ms): a timer's lateness is not the wait of any one message`,
        'loss is counted from sequence gaps per connection; a loss at the very start or end of a connection is invisible to k6',
      ],
      lagMs,
      receiveBacklog: spread(data, METRIC.receiveBacklog),
      lagBoundMs: info.lagBoundMs,
      boundVus,
      latencyCorrected: false,
    },
    timeline: [],
    thresholds: [],
    passed: false,
  };
  result.thresholds = evaluateThresholds(profile.thresholds, result);
  const k6Failed = failedK6Thresholds(data);
  for (const failed of k6Failed) result.thresholds.push({ expression: `k6 ${failed}`, observed: null, pass: false, note: 'failed in k6' });
  result.passed = !generatorBound && result.thresholds.every((t) => t.pass);
  result.verdict = generatorBound ? 'generator-bound' : result.passed ? 'passed' : 'failed';
  return result;
}
