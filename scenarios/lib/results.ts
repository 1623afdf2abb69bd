import type { Profile } from './profile.ts';
import { formatReplay, type ReplayResult } from './replay/replay-fidelity.ts';

// The results file: one shape for both engines, documented in scenarios/README.md. Other tools
// read it, so fields are only ever added, never renamed.

export const DISCONNECT_REASONS = ['client', 'server', 'moderation', 'session_expired', 'error'] as const;
export type DisconnectReason = (typeof DISCONNECT_REASONS)[number];
export const CONNECT_OUTCOMES = ['ok', 'refused', 'error'] as const;
export type ConnectOutcome = (typeof CONNECT_OUTCOMES)[number];
export const MODERATION_ACTIONS = ['delete_message', 'disconnect_user'] as const;
export type ModerationAction = (typeof MODERATION_ACTIONS)[number];
export type ModerationVia = 'websocket' | 'http';

export interface Percentiles {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  p999: number;
  max: number;
  mean: number;
}

export interface ThresholdVerdict {
  expression: string;
  observed: number | null;
  pass: boolean;
  /** Why it could not be judged, when observed is null. */
  note?: string;
}

export interface StepResult {
  step: number;
  viewers: number;
  /** Messages/s per room the step offered (the plan's; with rate steps, what rose). Absent in older files. */
  ratePerRoom?: number;
  /** Messages/s the chatters actually sent, all rooms. Absent in older files. */
  sentPerSecond?: number;
  deliveriesPerSecond: number;
  latencyMs: Percentiles;
  missing: number;
  expected: number;
  broken: boolean;
  /**
   * How far behind the generator read during the step (ms of its traffic, from its unread receive
   * queues): median and max over the step's intervals; null when unknown, absent in older results.
   */
  generatorBacklogMs?: { median: number; max: number } | null;
}

export interface TimelinePoint {
  /** Seconds since the start of the load phase. */
  t: number;
  viewers: number;
  target: number;
  /**
   * null: no worker reported in this interval, so the rate is unknown (a gap, not zero). Results
   * written before this was recorded have numbers only.
   */
  sentPerSecond: number | null;
  deliveriesPerSecond: number | null;
  /**
   * End-to-end latency of the deliveries in this interval; null when the interval had no latency
   * sample (a gap, not zero latency); absent in results written before it was recorded.
   */
  p50Ms?: number | null;
  p99Ms: number | null;
  generatorCpuPercent: number;
  /**
   * Bytes waiting unread in the generator's kernel receive queues at the end of the interval, and
   * what that is in ms of the traffic reaching it (how far behind it reads); null when unknown
   * (off Linux, /proc unreadable), absent in older results.
   */
  generatorUnreadBytes?: number | null;
  generatorBacklogMs?: number | null;
  /** The server's kernel send queues towards its clients, when the server runs on this machine (else null). */
  serverSendQueueBytes?: number | null;
}

/** Where the backlog sat, from the kernel's queues sampled once an interval (Node runner on Linux). */
export interface GeneratorBacklog {
  /** The generator's backlog (ms of its traffic) over the load phase's intervals; null when unknown. */
  medianMs: number | null;
  maxMs: number | null;
  /** Above this median the generator, not the server, is the limit: a quarter of the p99 limit. */
  limitMs: number;
  /** The server's send queues (bytes) when it runs on this machine; null otherwise. */
  serverSendQueueBytes: { median: number; max: number } | null;
  /** `generator`: its receive queues held the backlog; `server`: the server's send queues did; `neither`: both stayed small; `unknown`: not measured. */
  sat: 'generator' | 'server' | 'neither' | 'unknown';
}

/** The chat-log audit (`--audit`): the server's own log of the run against what the runner was told. */
export interface AuditResult {
  /** Where the log was read. */
  source: string;
  messages: {
    /** Sends whose sender got its own copy back. */
    acknowledged: number;
    /** Of those, how many are in the log. */
    logged: number;
    missing: number;
    /** Extra copies of a message beyond its first. */
    duplicated: number;
    outOfOrder: number;
    /** Refused with an ERROR, yet logged. */
    rejectedLogged: number;
    /** Outcome unknown to the sender (its connection ended first), logged: allowed. */
    unconfirmedLogged: number;
    /** MESSAGE records no send of this run explains. */
    unexpected: number;
  };
  events: {
    /** DeleteMessage / DisconnectUser actions the server acknowledged. */
    acknowledged: number;
    logged: number;
    missing: number;
    duplicated: number;
    rejectedLogged: number;
    unconfirmedLogged: number;
    unexpected: number;
    /** EVENT records by name, whatever their origin. */
    deleteMessage: number;
    disconnectUser: number;
  };
  malformedLines: number;
  /** The ledger's per-viewer exactly-once figures for the same run. */
  viewers: { expected: number; delivered: number; missing: number; duplicated: number; outOfOrder: number };
  /** What is wrong, one sentence each; empty when the audit passed. */
  problems: string[];
  passed: boolean;
}

/**
 * Whole-run histograms as compressed base64 HDR histograms (hdr-histogram-js encodeIntoCompressedBase64),
 * in microseconds: what `npm run bench:merge` adds up, since percentiles cannot be averaged.
 */
export interface RunHistograms {
  latencyUs: string;
  handshakeUs: string;
  tokenUs: string;
  ackUs: string;
}

/** One receiving connection as the ledger judges it (receive-tracker.ts), in JSON. */
export interface LoggedConnection {
  viewer: number;
  room: number;
  openedAt: number;
  closedAt: number;
  /** Per sender slot of its room: [first, last] sequence numbers received, 0 when none. */
  seqs: number[];
  holes: [slot: number, ranges: number[]][] | null;
}

/**
 * A shard's raw delivery log. A shard knows only its own senders, yet its receivers get every
 * sender's messages: so a shard cannot judge its own loss exactly, and summing the shards' figures
 * would count another shard's lost messages as nothing. Each shard writes what the ledger is built
 * from instead, and the merge builds one ledger from every shard's log: exact, as if one runner
 * had held every viewer.
 */
export interface DeliveryLog {
  /** Flat [sender, seq, sentAt, …] (epoch ms). */
  sends: number[];
  /** Flat [sender, seq, outcome, at, …]. */
  resolutions: number[];
  closed: LoggedConnection[];
}

/** `--shard i/n`: this file holds shard `index` (0-based) of `count`, all of one run `runId`. */
export interface ShardInfo {
  index: number;
  count: number;
  runId: string;
  deliveryLog: DeliveryLog;
}

/** Set on the result of `npm run bench:merge`: which shard files it is made of. */
export interface MergeInfo {
  shards: number;
  files: string[];
}

/** Per node (with several --url), what its viewers received. */
export interface NodeFigures {
  url: string;
  viewers: number;
  frames: number;
  latencyMs: Percentiles;
}

/**
 * The server's own gauges over a run (read from its /metrics), on the run's time base: seconds
 * since the start of the load phase. null where the target does not export the figure.
 */
export interface ServerSeriesPoint {
  t: number;
  rssMB: number;
  heapUsedMB: number | null;
  openFds: number | null;
  eventLoopDelayP99Ms: number | null;
  connections: number | null;
  /** rss / connections, in KiB; null with no connection. */
  kibPerConnection: number | null;
  /** The server's CPU seconds so far (process_cpu_seconds_total): the regression gate's CPU per delivery per interval. */
  cpuSeconds?: number;
}

/** One figure's trend after warm-up: a robust slope with its confidence interval (soak-verdict.ts). */
export interface SlopeVerdict {
  /** Which series of ServerSeriesPoint (or "p99Ms" for latency drift). */
  series: string;
  unit: string;
  /** Per minute, in `unit`. */
  slopePerMinute: number;
  ciLowPerMinute: number;
  ciHighPerMinute: number;
  /** Of the fitted line at the first sample after warm-up, in `unit`: the report draws the line. */
  intercept: number;
  samples: number;
  /** Above this slope (per minute) a significant trend fails the run. */
  limitPerMinute: number;
  verdict: 'flat' | 'growing' | 'too-few-samples';
}

export interface SoakResult {
  warmupSeconds: number;
  series: ServerSeriesPoint[];
  slopes: SlopeVerdict[];
  /** What failed, one sentence each; empty when the soak passed. */
  problems: string[];
  passed: boolean;
  /** A checkpoint written while the soak was still running (it may have been killed since). */
  partial?: boolean;
}

/** One figure of a run against the same figure of a baseline run (`--baseline FILE`). */
export interface BaselineFigure {
  name: string;
  unit: string;
  higherIsBetter: boolean;
  baseline: number;
  current: number;
  /** (current - baseline) / baseline, in percent. */
  changePercent: number;
  /** The change's confidence interval, in percent, from the runs' repeats / per-interval spread. */
  ciLowPercent: number;
  ciHighPercent: number;
  /** The interval excludes zero. */
  significant: boolean;
  /** Significantly worse by more than the tolerance. */
  regressed: boolean;
  /** Why the interval is unbounded (e.g. too few intervals to estimate the noise). */
  note?: string;
}

export interface BaselineComparison {
  file: string;
  tolerancePercent: number;
  figures: BaselineFigure[];
  passed: boolean;
  /** What makes the comparison say less than it seems (e.g. a generator-bound run). */
  warnings?: string[];
}

/** A capacity run's latency-vs-load knee (capacity.ts). */
export interface CapacityKnee {
  /** 1-based, like `capacity.lastGoodStep` (StepResult.step is 0-based). */
  step: number;
  deliveriesPerSecond: number;
  p99Ms: number;
}

export const RESULTS_SCHEMA_VERSION = 1;

export interface RunResult {
  /** Bumped only if a field ever changes meaning; new fields do not bump it. */
  schemaVersion: number;
  scenario: string;
  engine: 'node' | 'k6';
  target: { url: string; kind: 'embedded' | 'url' | 'aws' };
  startedAt: string;
  durationSeconds: number;
  profile: Profile;
  viewers: {
    peak: number;
    target: number;
    connects: Record<ConnectOutcome, number>;
    disconnects: Record<DisconnectReason, number>;
  };
  handshakeMs: Percentiles;
  tokenMs: Percentiles;
  messages: { sent: number; acked: number; rejected: number; unacked: number; perSecond: number };
  ackLatencyMs: Percentiles;
  deliveries: {
    expected: number;
    delivered: number;
    missing: number;
    duplicated: number;
    outOfOrder: number;
    /** MESSAGE frames from other viewers received, duplicates included. */
    frames: number;
    /** Averaged over the load phase. */
    perSecond: number;
    /** The busiest second. */
    peakPerSecond: number;
    lossRatio: number;
    /** "exact": against the senders' logs (Node runner). "gaps": sequence gaps only (k6). */
    accounting: 'exact' | 'gaps';
    /**
     * How frames were read: `decode` (every frame decoded) or `count` (--receive count: MESSAGE
     * frames of plain viewers counted from the WebSocket framing, every `decodeEvery`-th decoded
     * for latency and order; loss and duplicates judged by count per connection).
     */
    receive?: { mode: 'decode' | 'count'; decodeEvery: number; framesCounted: number; framesDecoded: number; bytesCounted: number };
  };
  latencyMs: Percentiles;
  /** ERROR frames by ErrorCode. */
  errors: Record<string, number>;
  /** Failed control-plane calls by "<Operation> <HTTP status>" (0: no answer). */
  apiErrors: Record<string, number>;
  moderation: {
    actions: Record<ModerationAction, Record<ModerationVia, number>>;
    eventsReceived: { deleteMessage: number; disconnectUser: number };
  };
  generator: {
    /** null where the engine cannot measure it (k6). */
    cpuPercent: number | null;
    cores: number;
    workers: number;
    rssMB: number;
    eventLoopDelayP99Ms: number;
    bottleneck: boolean;
    warnings: string[];
    /** Node runner: where the backlog sat over the load phase (see GeneratorBacklog). */
    backlog?: GeneratorBacklog;
    /** k6: how late each VU's probe timer fired (lib/lag-probe.ts), over the load phase. */
    lagMs?: { p50: number; p99: number; max: number };
    /** k6: frames each VU handled after its probe timer was due, per probe period. */
    receiveBacklog?: { p50: number; p99: number; max: number };
    /** A lag p99 above this (in any VU) makes the run generator-bound. */
    lagBoundMs?: number;
    /** VUs whose own lag p99 exceeded the bound. */
    boundVus?: number;
    /** Whether latencyMs had the generator's lag taken out (k6: never, see scenarios/README.md). */
    latencyCorrected?: boolean;
  };
  /** Read from the target's own /metrics (not available for real IVS). */
  server?: {
    cpuPercent: number;
    rssMB: number;
    /** Memory once the audience was in, and how much it moved from there to the end of the load (soak: should stay flat). */
    rssAfterRampMB: number;
    rssGrowthMB: number;
  };
  steps?: StepResult[];
  capacity?: {
    lastGoodStep: number | null;
    lastGoodViewers: number | null;
    breakingStep: number | null;
    reason: string;
    /** Where latency turns up with load; null when the curve has none within the sweep. */
    knee?: CapacityKnee | null;
    /** What stopped the sweep: the server crossing the SLO, the generator's own limit, or nothing. */
    boundBy?: 'server' | 'generator' | 'none';
  };
  /** The server's gauges over time (when its /metrics was scraped). */
  serverSeries?: ServerSeriesPoint[];
  /** Soak runs: slopes and their verdict. */
  soak?: SoakResult;
  /** With --baseline: this run against the earlier one. */
  baseline?: BaselineComparison;
  timeline: TimelinePoint[];
  /** Runs that replayed a recorded log (--replay): what was replayed and how faithfully. */
  replay?: ReplayResult;
  thresholds: ThresholdVerdict[];
  /** With --audit; a failed audit fails the run. */
  audit?: AuditResult;
  /** Node runner only (k6 keeps its own): mergeable whole-run histograms. */
  histograms?: RunHistograms;
  /** With --shard. */
  shard?: ShardInfo;
  merged?: MergeInfo;
  /** With several --url: deliveries and latency per node. */
  nodes?: NodeFigures[];
  passed: boolean;
  /**
   * k6 results: "generator-bound" when the generator, not the server, decided the figures (k6 exits
   * 108 then, where a failed threshold exits 99); absent in Node results, where `passed` decides.
   */
  verdict?: 'passed' | 'failed' | 'generator-bound';
}

export function emptyPercentiles(): Percentiles {
  return { count: 0, p50: 0, p90: 0, p99: 0, p999: 0, max: 0, mean: 0 };
}

/** Thousands grouped with commas, rounded to an integer. */
export function grouped(n: number): string {
  // By hand: k6's JS engine ignores toLocaleString's locale.
  const sign = n < 0 ? '-' : '';
  let digits = String(Math.abs(Math.round(n)));
  let out = '';
  while (digits.length > 3) {
    out = `,${digits.slice(-3)}${out}`;
    digits = digits.slice(0, -3);
  }
  return sign + digits + out;
}

function fmt(n: number, digits = 1): string {
  if (!Number.isFinite(n)) return String(n);
  if (Math.abs(n) >= 99.95 || Number.isInteger(n)) return grouped(n);
  return n.toFixed(digits);
}

function ms(p: Percentiles): string {
  if (p.count === 0) return 'n/a';
  return `p50 ${fmt(p.p50, 2)}  p90 ${fmt(p.p90, 2)}  p99 ${fmt(p.p99, 2)}  p99.9 ${fmt(p.p999, 2)}  max ${fmt(p.max, 2)} ms`;
}

function counts(record: Record<string, number>): string {
  const parts = Object.entries(record)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${fmt(n)}`);
  return parts.length ? parts.join(', ') : 'none';
}

function bytes(n: number): string {
  return n >= 1024 * 1024 ? `${fmt(n / 1024 / 1024)} MiB` : n >= 1024 ? `${fmt(n / 1024)} KiB` : `${fmt(n)} B`;
}

/** Where the backlog sat, in one line. */
export function formatBacklog(b: GeneratorBacklog): string {
  if (b.sat === 'unknown') return 'not measured (the generator\'s receive queues are read from Linux /proc)';
  const where = {
    generator: 'in the generator\'s receive queues: the generator read late',
    server: 'in the server\'s send queues, not the generator: the server fell behind',
    neither: 'neither queue held it: the generator kept up',
    unknown: '',
  }[b.sat];
  const server = b.serverSendQueueBytes ? ` · server send queues median ${bytes(b.serverSendQueueBytes.median)}, max ${bytes(b.serverSendQueueBytes.max)}` : ' · server not on this machine';
  return `generator behind by median ${fmt(b.medianMs ?? 0, 1)} ms, max ${fmt(b.maxMs ?? 0, 1)} ms (limit ${fmt(b.limitMs, 1)} ms)${server} → ${where}`;
}

/** The summary a person reads at the end of a run (both engines print this). */
export function formatSummary(r: RunResult): string {
  const d = r.deliveries;
  const lines = [
    `chatstorm ${r.scenario} — ${r.engine} engine against ${r.target.url} (${r.target.kind})`,
    `  duration      ${fmt(r.durationSeconds)} s, started ${r.startedAt}`,
    `  viewers       peak ${fmt(r.viewers.peak)} of ${fmt(r.viewers.target)} · connects ${counts(r.viewers.connects)} · disconnects ${counts(r.viewers.disconnects)}`,
    `  handshake     ${ms(r.handshakeMs)}`,
    `  token         ${ms(r.tokenMs)}`,
    `  messages      sent ${fmt(r.messages.sent)} · acked ${fmt(r.messages.acked)} · rejected ${fmt(r.messages.rejected)} · unacked ${fmt(r.messages.unacked)} · ${fmt(r.messages.perSecond)}/s`,
    `  deliveries    expected ${fmt(d.expected)} · delivered ${fmt(d.delivered)} · missing ${fmt(d.missing)} · duplicated ${fmt(d.duplicated)} · out of order ${fmt(d.outOfOrder)} · ${fmt(d.perSecond)}/s avg, ${fmt(d.peakPerSecond)}/s peak (${d.accounting} accounting)`,
    ...(d.receive?.mode === 'count'
      ? [
          `  receive       counting: ${fmt(d.receive.framesCounted)} MESSAGE frames (${fmt(d.receive.bytesCounted)} bytes) counted from the framing, ${fmt(d.receive.framesDecoded)} decoded (1 in ${d.receive.decodeEvery}: latency and order are sampled, loss and duplicates exact by count)`,
        ]
      : []),
    `  latency       ${ms(r.latencyMs)}`,
    `  errors        ${counts(r.errors)}${Object.keys(r.apiErrors).length ? ` · API ${counts(r.apiErrors)}` : ''}`,
  ];
  const m = r.moderation.actions;
  if (m.delete_message.websocket + m.delete_message.http + m.disconnect_user.websocket + m.disconnect_user.http > 0) {
    lines.push(
      `  moderation    DeleteMessage ws ${fmt(m.delete_message.websocket)} / http ${fmt(m.delete_message.http)} · DisconnectUser ws ${fmt(m.disconnect_user.websocket)} / http ${fmt(m.disconnect_user.http)} · events seen: delete ${fmt(r.moderation.eventsReceived.deleteMessage)}, disconnect ${fmt(r.moderation.eventsReceived.disconnectUser)}`,
    );
  }
  const g = r.generator;
  lines.push(
    g.cpuPercent === null
      ? `  generator     ${g.workers} VU(s); CPU not measured by this engine`
      : `  generator     CPU ${fmt(g.cpuPercent)} % of ${g.cores} core(s), ${g.workers} worker(s), RSS ${fmt(g.rssMB)} MB, event-loop p99 ${fmt(g.eventLoopDelayP99Ms, 2)} ms`,
  );
  if (g.lagMs) {
    lines.push(
      `  generator lag p50 ${fmt(g.lagMs.p50, 2)}  p99 ${fmt(g.lagMs.p99, 2)}  max ${fmt(g.lagMs.max, 2)} ms (bound ${fmt(g.lagBoundMs ?? 0)} ms, ${fmt(g.boundVus ?? 0)} VU(s) over it)` +
        (g.receiveBacklog ? ` · receive backlog p50 ${fmt(g.receiveBacklog.p50)}  p99 ${fmt(g.receiveBacklog.p99)}  max ${fmt(g.receiveBacklog.max)} frames` : ''),
    );
  }
  if (g.backlog) lines.push(`  backlog       ${formatBacklog(g.backlog)}`);
  if (r.server) {
    const s = r.server;
    lines.push(
      `  server        CPU ${fmt(s.cpuPercent)} %, RSS ${fmt(s.rssMB)} MB (${fmt(s.rssAfterRampMB)} MB after the ramp, ${s.rssGrowthMB >= 0 ? '+' : ''}${fmt(s.rssGrowthMB)} MB by the end of the load)`,
    );
  }
  if (r.steps?.length) {
    const backlog = r.steps.some((s) => s.generatorBacklogMs !== undefined);
    // Both what a step held (viewers) and what it was offered (msg/s per room): rate steps raise the
    // second, viewer steps the first. Files written before ratePerRoom was recorded show '-'.
    const byRate = r.profile?.stepBy === 'rate';
    lines.push(
      `  steps ${byRate ? '(by message rate)' : '(by viewers)     '}   viewers  msg/s/room    sent/s    deliveries/s   p99 ms   missing${backlog ? '   generator behind ms (median / max)' : ''}`,
    );
    const maybe = (n: number | undefined, digits = 0) => (n === undefined ? '-' : fmt(n, digits));
    for (const s of r.steps) {
      const b = s.generatorBacklogMs;
      lines.push(
        `    ${String(s.step + 1).padStart(2)}${s.broken ? ' ✗' : '  '}                  ${fmt(s.viewers).padStart(9)}  ${maybe(s.ratePerRoom, 1).padStart(10)}  ${maybe(s.sentPerSecond, 1).padStart(8)}  ${fmt(s.deliveriesPerSecond).padStart(14)}  ${fmt(s.latencyMs.p99, 2).padStart(7)}  ${fmt(s.missing).padStart(8)}` +
          (backlog ? `   ${b ? `${fmt(b.median, 1)} / ${fmt(b.max, 1)}` : 'n/a'}` : ''),
      );
    }
  }
  if (r.capacity) lines.push(`  capacity      ${r.capacity.reason}`);
  if (r.replay) lines.push(...formatReplay(r.replay));
  if (r.shard) lines.push(`  shard         ${r.shard.index + 1}/${r.shard.count} of run ${r.shard.runId}: loss is judged exactly only once the shards are merged (npm run bench:merge)`);
  if (r.merged) lines.push(`  merged        ${r.merged.shards} shards: ${r.merged.files.join(', ')}`);
  for (const n of r.nodes ?? []) {
    lines.push(`  node          ${n.url}  viewers ${fmt(n.viewers)} · received ${fmt(n.frames)} · latency ${ms(n.latencyMs)}`);
  }
  for (const w of g.warnings) lines.push(`  WARNING       ${w}`);
  if (r.audit) {
    const a = r.audit;
    const am = a.messages;
    const ae = a.events;
    lines.push(
      `  audit         ${a.passed ? 'PASS' : 'FAIL'}  messages acknowledged ${fmt(am.acknowledged)} · logged ${fmt(am.logged)} · missing from log ${fmt(am.missing)} · duplicated in log ${fmt(am.duplicated)} · out of order ${fmt(am.outOfOrder)}` +
        (am.rejectedLogged ? ` · refused but logged ${fmt(am.rejectedLogged)}` : '') +
        (am.unconfirmedLogged ? ` · unconfirmed, logged ${fmt(am.unconfirmedLogged)}` : ''),
      `                events logged ${fmt(ae.logged)} of ${fmt(ae.acknowledged)} acknowledged (DeleteMessage ${fmt(ae.deleteMessage)}, DisconnectUser ${fmt(ae.disconnectUser)}) · missing ${fmt(ae.missing)} · duplicated ${fmt(ae.duplicated)}`,
      `                viewers delivered ${fmt(a.viewers.delivered)} of ${fmt(a.viewers.expected)} expected · missing ${fmt(a.viewers.missing)} · duplicated ${fmt(a.viewers.duplicated)} · out of order ${fmt(a.viewers.outOfOrder)}`,
    );
    for (const p of a.problems) lines.push(`  AUDIT FAILED  ${p}`);
  }
  lines.push('  thresholds');
  for (const t of r.thresholds) {
    const observed = t.observed === null ? (t.note ?? 'n/a') : fmt(t.observed, 3);
    lines.push(`    ${t.pass ? 'PASS' : 'FAIL'}  ${t.expression.padEnd(24)} observed ${observed}`);
  }
  lines.push(
    r.verdict === 'generator-bound'
      ? '  result        GENERATOR-BOUND: the load generator, not the server, was the limit; not a verdict on the server'
      : `  result        ${r.passed ? 'PASSED' : 'FAILED'}`,
  );
  return lines.join('\n');
}
