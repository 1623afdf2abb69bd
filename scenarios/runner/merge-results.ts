import * as hdr from 'hdr-histogram-js';
import { DeliveryLedger } from '../lib/delivery-ledger.ts';
import type { ConnectionSummary } from '../lib/receive-tracker.ts';
import type { DeliveryLog, RunHistograms, RunResult, TimelinePoint } from '../lib/results.ts';
import { Plan } from '../lib/schedule.ts';
import { evaluateThresholds } from '../lib/thresholds.ts';
import { peakPerSecond } from './timeline.ts';
import { percentilesOf } from './aggregate.ts';
import { decodeHistogram, newHistogram } from './latency-recorder.ts';

// `npm run bench:merge`: the shards of one run (--shard i/n, each on its own machine) as one
// result. Histograms are added, never averaged; loss is judged again by one ledger fed with every
// shard's sends and receivers (see DeliveryLog in lib/results.ts for why summing would not be exact).

export class MergeError extends Error {}

function addRecords(into: Record<string, number>, from: Record<string, number>): void {
  for (const [key, n] of Object.entries(from)) into[key] = (into[key] ?? 0) + n;
}

function mergedHistogram(shards: readonly RunResult[], key: keyof RunHistograms): hdr.Histogram {
  const total = newHistogram();
  for (const r of shards) {
    const h = decodeHistogram(r.histograms![key]);
    if (h) total.add(h);
  }
  return total;
}

function encoded(h: hdr.Histogram): string {
  return h.totalCount > 0 ? hdr.encodeIntoCompressedBase64(h) : '';
}

const sumKnown = (a: number | null, b: number | null) => (a === null || b === null ? null : a + b);
const maxKnown = (a: number | null, b: number | null) => (a === null ? b : b === null ? a : Math.max(a, b));

/** Shards ran side by side: their timelines add up second by second. */
function mergedTimeline(shards: readonly RunResult[]): TimelinePoint[] {
  const bySecond = new Map<number, TimelinePoint>();
  for (const r of shards) {
    for (const p of r.timeline) {
      const second = Math.round(p.t);
      const at = bySecond.get(second);
      if (!at) {
        bySecond.set(second, { ...p, t: second });
        continue;
      }
      at.viewers += p.viewers;
      // A shard that did not report that second leaves the total unknown: a gap, never a low sum.
      at.sentPerSecond = sumKnown(at.sentPerSecond, p.sentPerSecond);
      at.deliveriesPerSecond = sumKnown(at.deliveriesPerSecond, p.deliveriesPerSecond);
      // Per-second percentiles cannot be added; the worst shard's is an upper bound. A shard with
      // no sample that second has nothing to add to it.
      at.p99Ms = maxKnown(at.p99Ms, p.p99Ms);
      if (p.p50Ms !== undefined) at.p50Ms = maxKnown(at.p50Ms ?? null, p.p50Ms);
      at.generatorCpuPercent = Math.max(at.generatorCpuPercent, p.generatorCpuPercent);
      // The slowest shard's reader is how far behind the generator was.
      if (p.generatorBacklogMs !== undefined) at.generatorBacklogMs = maxKnown(at.generatorBacklogMs ?? null, p.generatorBacklogMs);
      if (p.generatorUnreadBytes !== undefined) at.generatorUnreadBytes = sumKnown(at.generatorUnreadBytes ?? null, p.generatorUnreadBytes);
    }
  }
  return [...bySecond.values()].sort((a, b) => a.t - b.t);
}

function judgeLoss(plan: Plan, logs: readonly DeliveryLog[]) {
  const ledger = new DeliveryLedger(plan.layout, plan.settleMs);
  // Every send and outcome first: a receiver is judged against all senders, wherever they ran.
  for (const log of logs) {
    const s = log.sends;
    for (let k = 0; k < s.length; k += 3) ledger.sent(s[k]!, s[k + 1]!, s[k + 2]!);
  }
  for (const log of logs) {
    const z = log.resolutions;
    for (let k = 0; k < z.length; k += 4) ledger.resolved(z[k]!, z[k + 1]!, z[k + 2]!, z[k + 3]!);
  }
  for (const log of logs) {
    for (const c of log.closed) {
      const summary: ConnectionSummary = { ...c, seqs: Int32Array.from(c.seqs) };
      ledger.evaluate(summary);
    }
  }
  return ledger.totals;
}

/** Checks that `results` are every shard of one run, exactly once; the error says what is wrong. */
function checkShards(results: readonly RunResult[], files: readonly string[]): void {
  if (results.length === 0) throw new MergeError('no results files given');
  results.forEach((r, i) => {
    if (!r.shard) throw new MergeError(`${files[i]}: not a shard (run it with --shard i/n)`);
    if (!r.histograms) throw new MergeError(`${files[i]}: has no histograms to merge (written by an older runner, or by k6: read k6-operator runs from Prometheus)`);
  });
  const first = results[0]!;
  for (const [i, r] of results.entries()) {
    if (r.shard!.runId !== first.shard!.runId) throw new MergeError(`${files[i]}: run ${r.shard!.runId}, but ${files[0]} is run ${first.shard!.runId}`);
    if (r.shard!.count !== first.shard!.count) throw new MergeError(`${files[i]}: one of ${r.shard!.count} shards, but ${files[0]} one of ${first.shard!.count}`);
    if (JSON.stringify(r.profile) !== JSON.stringify(first.profile)) throw new MergeError(`${files[i]}: ran another profile than ${files[0]}: shards must run the same one`);
  }
  const seen = new Map<number, string>();
  for (const [i, r] of results.entries()) {
    const other = seen.get(r.shard!.index);
    if (other) throw new MergeError(`shard ${r.shard!.index + 1}/${r.shard!.count} is given twice: ${other} and ${files[i]}`);
    seen.set(r.shard!.index, files[i]!);
  }
  const missing = Array.from({ length: first.shard!.count }, (_, k) => k).filter((k) => !seen.has(k));
  if (missing.length) throw new MergeError(`shard(s) ${missing.map((k) => `${k + 1}/${first.shard!.count}`).join(', ')} of run ${first.shard!.runId} missing`);
}

export function mergeResults(results: readonly RunResult[], files: readonly string[]): RunResult {
  checkShards(results, files);
  const shards = [...results].sort((a, b) => a.shard!.index - b.shard!.index);
  const first = shards[0]!;
  const plan = new Plan(first.profile);
  const latency = mergedHistogram(shards, 'latencyUs');
  const handshake = mergedHistogram(shards, 'handshakeUs');
  const token = mergedHistogram(shards, 'tokenUs');
  const ack = mergedHistogram(shards, 'ackUs');
  const loss = judgeLoss(plan, shards.map((r) => r.shard!.deliveryLog));
  const timeline = mergedTimeline(shards);
  const sum = (pick: (r: RunResult) => number) => shards.reduce((n, r) => n + pick(r), 0);
  const durationSeconds = Math.max(...shards.map((r) => r.durationSeconds));

  const connects = { ok: 0, refused: 0, error: 0 };
  const disconnects = { client: 0, server: 0, moderation: 0, session_expired: 0, error: 0 };
  const errors: Record<string, number> = {};
  const apiErrors: Record<string, number> = {};
  const actions = { delete_message: { websocket: 0, http: 0 }, disconnect_user: { websocket: 0, http: 0 } };
  for (const r of shards) {
    addRecords(connects, r.viewers.connects);
    addRecords(disconnects, r.viewers.disconnects);
    addRecords(errors, r.errors);
    addRecords(apiErrors, r.apiErrors);
    for (const action of ['delete_message', 'disconnect_user'] as const) addRecords(actions[action], r.moderation.actions[action]);
  }
  // The shard whose generator was furthest behind speaks for the run's backlog.
  const backlog = shards
    .map((r) => r.generator.backlog)
    .filter((b) => b !== undefined)
    .sort((a, b) => (b.medianMs ?? -1) - (a.medianMs ?? -1))[0];
  const warnings = shards.flatMap((r) => r.generator.warnings.map((w) => `shard ${r.shard!.index + 1}: ${w}`));

  const merged: RunResult = {
    schemaVersion: first.schemaVersion,
    scenario: first.scenario,
    engine: first.engine,
    target: first.target,
    startedAt: shards.map((r) => r.startedAt).sort()[0]!,
    durationSeconds,
    profile: first.profile,
    viewers: {
      // Shards peak at slightly different moments: the summed timeline's peak, not the sum of peaks.
      peak: timeline.length ? Math.max(...timeline.map((p) => p.viewers)) : sum((r) => r.viewers.peak),
      target: first.viewers.target,
      connects,
      disconnects,
    },
    handshakeMs: percentilesOf(handshake),
    tokenMs: percentilesOf(token),
    messages: {
      sent: sum((r) => r.messages.sent),
      acked: sum((r) => r.messages.acked),
      rejected: sum((r) => r.messages.rejected),
      unacked: sum((r) => r.messages.unacked),
      perSecond: sum((r) => r.messages.perSecond),
    },
    ackLatencyMs: percentilesOf(ack),
    deliveries: {
      expected: loss.expected,
      delivered: loss.delivered,
      missing: loss.missing,
      duplicated: sum((r) => r.deliveries.duplicated),
      outOfOrder: sum((r) => r.deliveries.outOfOrder),
      frames: sum((r) => r.deliveries.frames),
      perSecond: sum((r) => r.deliveries.perSecond),
      peakPerSecond: peakPerSecond(timeline),
      lossRatio: loss.expected > 0 ? loss.missing / loss.expected : 0,
      accounting: 'exact',
    },
    latencyMs: percentilesOf(latency),
    errors,
    apiErrors,
    moderation: {
      actions,
      eventsReceived: {
        deleteMessage: sum((r) => r.moderation.eventsReceived.deleteMessage),
        disconnectUser: sum((r) => r.moderation.eventsReceived.disconnectUser),
      },
    },
    generator: {
      cpuPercent: shards.every((r) => r.generator.cpuPercent !== null) ? sum((r) => r.generator.cpuPercent!) : null,
      cores: sum((r) => r.generator.cores),
      workers: sum((r) => r.generator.workers),
      rssMB: sum((r) => r.generator.rssMB),
      eventLoopDelayP99Ms: Math.max(...shards.map((r) => r.generator.eventLoopDelayP99Ms)),
      bottleneck: shards.some((r) => r.generator.bottleneck),
      warnings,
      ...(backlog ? { backlog } : {}),
    },
    ...(first.server ? { server: first.server } : {}),
    timeline,
    thresholds: [],
    histograms: { latencyUs: encoded(latency), handshakeUs: encoded(handshake), tokenUs: encoded(token), ackUs: encoded(ack) },
    merged: { shards: shards.length, files: [...files] },
    passed: false,
  };
  merged.thresholds = evaluateThresholds(first.profile.thresholds, merged);
  // A shard that broke (a worker died) says so in its errors; its figures are incomplete.
  const broken = shards.filter((r) => Object.keys(r.errors).some((k) => /^worker \d+ |workers did not finish/.test(k)));
  merged.passed = broken.length === 0 && merged.thresholds.every((t) => t.pass);
  return merged;
}
