import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { SEND_LOST, SEND_REJECTED } from '../lib/delivery-ledger.ts';
import { parseDurationMs } from '../lib/duration.ts';
import { RESULTS_SCHEMA_VERSION, type RunResult, type StepResult, type TimelinePoint } from '../lib/results.ts';
import type { Plan } from '../lib/schedule.ts';
import { evaluateThresholds, generatorCanFail } from '../lib/thresholds.ts';
import { renderHtmlReport } from './html-report.ts';
import * as hdr from 'hdr-histogram-js';
import { percentilesOf, type RunAggregate } from './aggregate.ts';
import { newHistogram } from './latency-recorder.ts';

export interface ReportInput {
  /** Counting receive mode: every Nth MESSAGE frame decoded (absent: full decode). */
  decodeEvery?: number;
  plan: Plan;
  target: RunResult['target'];
  startedAt: Date;
  durationSeconds: number;
  /** The load phase as it ran (shorter than planned when stopped early). */
  loadSeconds: number;
  aggregate: RunAggregate;
  timeline: TimelinePoint[];
  /** What the generator measured about itself; `warnings` are its saturation verdicts only. */
  generator: Omit<RunResult['generator'], 'bottleneck'>;
  /**
   * The run itself broke (a worker thread died or hung): its viewers' figures are gone, so the run
   * fails naming the cause whatever the thresholds say. Not a saturated generator.
   */
  failures?: string[];
  server?: RunResult['server'];
  peakViewers: number;
  shard?: { index: number; count: number; runId: string };
  /** Several nodes: viewer i joined nodeUrls[i mod n]. */
  nodeUrls?: string[];
}

function stepResults(plan: Plan, a: RunAggregate): StepResult[] {
  const limitMs = parseDurationMs(plan.profile.capacity.p99);
  return a.steps.map((tally, step) => {
    const counts = a.ledger.buckets[step] ?? { expected: 0, delivered: 0, missing: 0 };
    const latencyMs = percentilesOf(tally.latency);
    const seconds = Math.max(1, (tally.endMs - tally.startMs) / 1000);
    const lossRatio = counts.expected > 0 ? counts.missing / counts.expected : 0;
    return {
      step,
      viewers: tally.peakViewers,
      deliveriesPerSecond: tally.frames / seconds,
      latencyMs,
      missing: counts.missing,
      expected: counts.expected,
      broken: latencyMs.p99 > limitMs || lossRatio > plan.profile.capacity.loss,
    };
  });
}

function capacityVerdict(plan: Plan, steps: StepResult[], generatorBound: boolean): NonNullable<RunResult['capacity']> {
  const broken = steps.findIndex((s) => s.broken);
  const lastGood = broken === -1 ? steps.length - 1 : broken - 1;
  const good = lastGood >= 0 ? steps[lastGood] : undefined;
  const limit = `p99 ≤ ${plan.profile.capacity.p99}, loss ≤ ${plan.profile.capacity.loss * 100} %`;
  let reason: string;
  if (broken === -1) {
    reason = good ? `did not break (${limit}) up to ${good.viewers} viewers (step ${lastGood + 1}, p99 ${good.latencyMs.p99.toFixed(1)} ms)` : 'no steps ran';
  } else {
    const b = steps[broken]!;
    const why = b.latencyMs.p99 > parseDurationMs(plan.profile.capacity.p99) ? `p99 ${b.latencyMs.p99.toFixed(1)} ms` : `${b.missing} missing of ${b.expected}`;
    reason =
      (good ? `held ${good.viewers} viewers (step ${lastGood + 1}, p99 ${good.latencyMs.p99.toFixed(1)} ms); ` : '') +
      `broke at step ${broken + 1} with ${b.viewers} viewers: ${why} (${limit})`;
  }
  if (broken !== -1 && generatorBound) {
    reason += ' — but the generator was saturated, so this is the generator’s limit, not necessarily the server’s';
  }
  return {
    lastGoodStep: good ? lastGood + 1 : null,
    lastGoodViewers: good ? good.viewers : null,
    breakingStep: broken === -1 ? null : broken + 1,
    reason,
  };
}

function encoded(h: hdr.Histogram): string {
  return h.totalCount > 0 ? hdr.encodeIntoCompressedBase64(h) : '';
}

export function buildResult(i: ReportInput): RunResult {
  const a = i.aggregate;
  const c = a.totals;
  const loadSeconds = i.loadSeconds;
  const ledger = a.ledger.totals;
  const steps = i.plan.stepMs > 0 ? stepResults(i.plan, a) : undefined;
  const generatorBound = i.generator.warnings.length > 0;
  const failures = i.failures ?? [];
  const errors: Record<string, number> = { ...c.errors };
  for (const f of failures) errors[f] = (errors[f] ?? 0) + 1;
  const result: RunResult = {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    scenario: i.plan.profile.name,
    engine: 'node',
    target: i.target,
    startedAt: i.startedAt.toISOString(),
    durationSeconds: i.durationSeconds,
    profile: i.plan.profile,
    viewers: { peak: i.peakViewers, target: i.plan.profile.viewers, connects: c.connects, disconnects: c.disconnects },
    handshakeMs: percentilesOf(a.handshake),
    tokenMs: percentilesOf(a.token),
    messages: {
      sent: c.sent,
      acked: c.acked,
      rejected: a.outcomes[SEND_REJECTED]!,
      unacked: a.outcomes[SEND_LOST]!,
      perSecond: c.sent / loadSeconds,
    },
    ackLatencyMs: percentilesOf(a.ack),
    deliveries: {
      expected: ledger.expected,
      delivered: ledger.delivered,
      missing: ledger.missing,
      duplicated: c.duplicated + a.ledger.countedDuplicates,
      outOfOrder: c.outOfOrder,
      frames: c.frames,
      perSecond: c.frames / loadSeconds,
      peakPerSecond: Math.max(0, ...i.timeline.map((p) => p.deliveriesPerSecond)),
      lossRatio: ledger.expected > 0 ? ledger.missing / ledger.expected : 0,
      accounting: 'exact',
      receive: i.decodeEvery
        ? { mode: 'count', decodeEvery: i.decodeEvery, framesCounted: c.counted, framesDecoded: c.decoded, bytesCounted: c.countedBytes }
        : { mode: 'decode', decodeEvery: 1, framesCounted: 0, framesDecoded: c.frames, bytesCounted: 0 },
    },
    latencyMs: percentilesOf(a.latency),
    errors,
    apiErrors: c.apiErrors,
    moderation: {
      actions: c.moderation,
      eventsReceived: { deleteMessage: c.moderationEvents.delete_message, disconnectUser: c.moderationEvents.disconnect_user },
    },
    generator: { ...i.generator, bottleneck: generatorBound },
    ...(i.server ? { server: i.server } : {}),
    ...(steps ? { steps, capacity: capacityVerdict(i.plan, steps, generatorBound) } : {}),
    timeline: i.timeline,
    thresholds: [],
    histograms: {
      latencyUs: encoded(a.latency),
      handshakeUs: encoded(a.handshake),
      tokenUs: encoded(a.token),
      ackUs: encoded(a.ack),
    },
    ...(i.nodeUrls
      ? {
          nodes: i.nodeUrls.map((url, node) => ({
            url,
            viewers: Math.ceil(Math.max(0, i.plan.profile.viewers - node) / i.nodeUrls!.length),
            frames: a.nodes[node]?.frames ?? 0,
            latencyMs: percentilesOf(a.nodes[node]?.latency ?? newHistogram()),
          })),
        }
      : {}),
    ...(i.shard && a.deliveryLog ? { shard: { ...i.shard, deliveryLog: a.deliveryLog } } : {}),
    passed: false,
  };
  result.thresholds = evaluateThresholds(i.plan.profile.thresholds, result);
  result.passed = failures.length === 0 && result.thresholds.every((t) => t.pass);
  // Latency or rate thresholds that failed while the generator was saturated judge the generator,
  // not the server. A loss, a duplicate or a dead worker fails the run whatever the generator did.
  const onlyGeneratorFailures = result.thresholds.every((t) => t.pass || generatorCanFail(t.expression));
  result.verdict = result.passed ? 'passed' : failures.length === 0 && generatorBound && onlyGeneratorFailures ? 'generator-bound' : 'failed';
  return result;
}

export function defaultResultPath(scenario: string, startedAt: Date): string {
  return path.join('results', `${scenario}-${startedAt.toISOString().replace(/[:.]/g, '-')}.json`);
}

/** Writes the results JSON and, beside it, the same run as an HTML page of charts; returns the page's path. */
export function writeResult(file: string, result: RunResult): string {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
  const page = file.replace(/\.json$/, '') + '.html';
  writeFileSync(page, renderHtmlReport(result));
  return page;
}
