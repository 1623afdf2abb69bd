import { parseDurationMs } from '../lib/duration.ts';
import type { Profile } from '../lib/profile.ts';
import { CONNECT_OUTCOMES, DISCONNECT_REASONS, MODERATION_ACTIONS } from '../lib/results.ts';
import { Plan } from '../lib/schedule.ts';
import { parseThreshold, type Threshold } from '../lib/thresholds.ts';

// k6 options derived from a profile: the profile is the only place a scenario is written. Pure
// (no k6 imports), so Node tests check the derivation directly.

/** Custom k6 metric names: TEAM.md's chatstorm_load_* names without the prefix, plus k6-only helpers. */
export const METRIC = {
  viewers: 'viewers',
  viewersTarget: 'viewers_target',
  connects: 'connects',
  disconnects: 'disconnects',
  handshake: 'handshake_duration',
  token: 'token_duration',
  sent: 'messages_sent',
  acked: 'messages_acked',
  deliveries: 'deliveries',
  missing: 'deliveries_missing',
  duplicated: 'deliveries_duplicated',
  outOfOrder: 'deliveries_out_of_order',
  latency: 'delivery_latency',
  errors: 'errors',
  moderation: 'moderation_actions',
  // k6 only: what handleSummary and thresholds need that a Prometheus counter would not.
  expected: 'deliveries_expected',
  rejected: 'messages_rejected',
  unacked: 'messages_unacked',
  ackLatency: 'ack_latency',
  connectFailures: 'connect_failures',
  connectFailed: 'connect_failed',
  messageAcked: 'message_acked',
  sendErrors: 'send_errors',
  moderationEvents: 'moderation_events',
  peakViewers: 'viewers_peak',
  apiErrors: 'api_errors',
  connectRefused: 'connect_refused',
  // The generator watching itself (lib/lag-probe.ts).
  generatorLag: 'generator_lag',
  receiveBacklog: 'generator_receive_backlog',
  boundVus: 'generator_bound_vus',
  // WebSocket payload, pushed once a second (k6's data_* arrive only when the VU's one iteration ends).
  bytesReceived: 'frame_bytes_received',
  bytesSent: 'frame_bytes_sent',
} as const;

/**
 * k6's default system tags without `subproto`: the chat token travels as the WebSocket
 * subprotocol, so k6 would put every token on its ws_* samples (one series per session in
 * Prometheus, and a credential in the metrics store).
 */
export const SYSTEM_TAGS = ['proto', 'status', 'method', 'url', 'name', 'group', 'check', 'error', 'error_code', 'tls_version', 'scenario', 'service', 'expected_response'];

export const PROTOCOL_ERROR_CODES = [400, 401, 403, 404, 406, 413, 429, 500] as const;

/**
 * The sweet spot of `npm run bench:k6-sizing` (scenarios/README.md, "Sizing k6"): k6 spent about
 * 140-180 µs of CPU per delivered frame whatever the split, so a message burst costs a VU
 * viewers-per-VU × that of loop time; at 200 it is ~30 ms, well inside the 100 ms lag bound, and
 * at fanout's 10 messages/s per room one VU needs about a third of a core. (500, the earlier
 * default, needs three quarters of a core per VU and ~75 ms per burst.)
 */
export const DEFAULT_VIEWERS_PER_VU = 200;

/** A lag p99 above this (per VU) makes a run generator-bound; CHATSTORM_LAG_BOUND overrides it. */
export const DEFAULT_LAG_BOUND = '100ms';

/**
 * Connection refusals (token or upgrade answered with a 4xx) above this share end the run at once
 * (k6 abortOnFail, exit 99): the server is turning the audience away and nothing later can pass.
 */
export const ABORT_REFUSED_RATE = 0.2;

export interface K6Scenario {
  executor: 'per-vu-iterations';
  vus: number;
  iterations: 1;
  maxDuration: string;
  gracefulStop: string;
  /** On every sample of the scenario: Grafana splits the k6 row by profile. */
  tags: { profile: string };
}

/** k6's long form of a threshold. */
export interface K6HardThreshold {
  threshold: string;
  abortOnFail: boolean;
  delayAbortEval?: string;
}

export interface K6Options {
  scenarios: Record<string, K6Scenario>;
  thresholds: Record<string, (string | K6HardThreshold)[]>;
  setupTimeout: string;
  teardownTimeout: string;
  summaryTrendStats: string[];
  systemTags: string[];
}

export function vusFor(profile: Profile, viewersPerVu = DEFAULT_VIEWERS_PER_VU): number {
  return Math.max(1, Math.ceil(profile.viewers / viewersPerVu));
}

const LATENCY_METRIC: Record<string, string> = { '': METRIC.latency, handshake: METRIC.handshake, token: METRIC.token, ack: METRIC.ackLatency };
const K6_STAT: Record<string, string> = { p50: 'med', p90: 'p(90)', p99: 'p(99)', p999: 'p(99.9)', max: 'max', mean: 'avg' };

/** One threshold in k6's terms, or undefined when only the summary can judge it. */
export function toK6Threshold(t: Threshold): { metric: string; expression: string } | undefined {
  const latency = /^(?:(handshake|token|ack)\.)?(p50|p90|p99|p999|max|mean)$/.exec(t.metric);
  if (latency) {
    const limit = t.unit === 's' ? t.limit * 1000 : t.limit;
    return { metric: LATENCY_METRIC[latency[1] ?? '']!, expression: `${K6_STAT[latency[2]!]}${t.operator}${limit}` };
  }
  const pct = t.unit === '%';
  const ratio = t.limit / 100;
  switch (t.metric) {
    case 'loss':
      return pct ? undefined : { metric: METRIC.missing, expression: `count${t.operator}${t.limit}` };
    case 'duplicates':
      return pct ? undefined : { metric: METRIC.duplicated, expression: `count${t.operator}${t.limit}` };
    case 'outOfOrder':
      return pct ? undefined : { metric: METRIC.outOfOrder, expression: `count${t.operator}${t.limit}` };
    case 'errors':
      // As a rate: ERROR frames over (sends + ERROR frames), the closest k6 can say to "per send".
      return pct ? { metric: METRIC.sendErrors, expression: `rate${t.operator}${ratio}` } : { metric: METRIC.errors, expression: `count${t.operator}${t.limit}` };
    case 'connectErrors':
      return pct ? { metric: METRIC.connectFailed, expression: `rate${t.operator}${ratio}` } : { metric: METRIC.connectFailures, expression: `count${t.operator}${t.limit}` };
    case 'acked':
      return pct ? { metric: METRIC.messageAcked, expression: `rate${t.operator}${ratio}` } : { metric: METRIC.acked, expression: `count${t.operator}${t.limit}` };
    case 'rejected':
      return pct ? undefined : { metric: METRIC.rejected, expression: `count${t.operator}${t.limit}` };
    case 'deliveriesPerSecond':
      return { metric: METRIC.deliveries, expression: `rate${t.operator}${t.limit}` };
    case 'messagesPerSecond':
      return { metric: METRIC.sent, expression: `rate${t.operator}${t.limit}` };
    case 'viewers':
      return { metric: METRIC.peakViewers, expression: `count${t.operator}${t.limit}` };
    default:
      return undefined;
  }
}

export function k6Thresholds(expressions: readonly string[]): { thresholds: Record<string, string[]>; summaryOnly: string[] } {
  const thresholds: Record<string, string[]> = {};
  const summaryOnly: string[] = [];
  for (const expression of expressions) {
    const k6 = toK6Threshold(parseThreshold(expression));
    if (!k6) {
      summaryOnly.push(expression);
      continue;
    }
    (thresholds[k6.metric] ??= []).push(k6.expression);
  }
  return { thresholds, summaryOnly };
}

/**
 * k6 reports a tagged sub-metric in handleSummary only when a threshold names it, so every label
 * value the results file breaks down by gets a threshold that always holds.
 */
function breakdowns(): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  const always = ['count>=0'];
  for (const o of CONNECT_OUTCOMES) out[`${METRIC.connects}{outcome:${o}}`] = always;
  for (const r of DISCONNECT_REASONS) out[`${METRIC.disconnects}{reason:${r}}`] = always;
  for (const c of PROTOCOL_ERROR_CODES) out[`${METRIC.errors}{code:${c}}`] = always;
  for (const a of MODERATION_ACTIONS) {
    for (const via of ['websocket', 'http']) out[`${METRIC.moderation}{action:${a},via:${via}}`] = always;
    out[`${METRIC.moderationEvents}{action:${a}}`] = always;
  }
  return out;
}

export function k6Options(profile: Profile, viewersPerVu = DEFAULT_VIEWERS_PER_VU): K6Options {
  const plan = new Plan(profile);
  const { thresholds } = k6Thresholds(profile.thresholds);
  return {
    scenarios: {
      // One long iteration per VU: each VU holds its slice of the audience for the whole run
      // (many sockets per VU) and follows the profile's own ramp, so k6's executor does not ramp.
      viewers: {
        executor: 'per-vu-iterations',
        vus: vusFor(profile, viewersPerVu),
        iterations: 1,
        maxDuration: `${Math.ceil((plan.endMs + parseDurationMs('60s')) / 1000)}s`,
        gracefulStop: '30s',
        tags: { profile: profile.name },
      },
    },
    thresholds: {
      ...breakdowns(),
      ...thresholds,
      // Judged every few seconds during the run, after the first handshakes had time to land.
      [METRIC.connectRefused]: [{ threshold: `rate<${ABORT_REFUSED_RATE}`, abortOnFail: true, delayAbortEval: '5s' }],
    },
    setupTimeout: '120s',
    teardownTimeout: '60s',
    summaryTrendStats: ['avg', 'min', 'med', 'max', 'p(90)', 'p(99)', 'p(99.9)', 'count'],
    systemTags: SYSTEM_TAGS,
  };
}
