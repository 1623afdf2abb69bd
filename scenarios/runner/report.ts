import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { SEND_LOST, SEND_REJECTED } from '../lib/delivery-ledger.ts';
import { RESULTS_SCHEMA_VERSION, type RunResult, type TimelinePoint } from '../lib/results.ts';
import type { Plan } from '../lib/schedule.ts';
import { evaluateThresholds, generatorCanFail } from '../lib/thresholds.ts';
import { renderHtmlReport } from './html-report.ts';
import { peakPerSecond } from './timeline.ts';
import * as hdr from 'hdr-histogram-js';
import { percentilesOf, type RunAggregate } from './aggregate.ts';
import { capacityVerdict, stepLimits, stepResults } from './capacity.ts';
import { isGeneratorBound, stepBacklog, type GeneratorSignals } from './generator-bound.ts';
import { newHistogram } from './latency-recorder.ts';
import { writeJsonAtomically } from './soak-checkpoint.ts';

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
  /** Judged with generator.backlog (generator-bound.ts); absent: any warning makes the run generator-bound, as before the backlog was measured. */
  generatorSignals?: Omit<GeneratorSignals, 'backlogMs'>;
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

function encoded(h: hdr.Histogram): string {
  return h.totalCount > 0 ? hdr.encodeIntoCompressedBase64(h) : '';
}

export function buildResult(i: ReportInput): RunResult {
  const a = i.aggregate;
  const c = a.totals;
  const loadSeconds = i.loadSeconds;
  const ledger = a.ledger.totals;
  const stepMs = i.plan.stepMs;
  const steps = stepMs > 0 ? stepResults(i.plan, a).map((s) => ({ ...s, generatorBacklogMs: stepBacklog(i.timeline, stepMs, s.step, i.plan.stepsFromMs) })) : undefined;
  const p99LimitMs = stepLimits(i.plan).p99Ms;
  const runBacklogMs = i.generator.backlog?.medianMs ?? null;
  const judge = (backlogMs: number | null) =>
    i.generatorSignals ? isGeneratorBound({ ...i.generatorSignals, backlogMs }, p99LimitMs) : i.generator.warnings.length > 0;
  // A broken step is judged on its own intervals' backlog (the run's when it has none).
  const broken = steps?.find((s) => s.broken);
  const breakBound = broken ? judge(broken.generatorBacklogMs?.median ?? runBacklogMs) : false;
  const generatorBound = judge(runBacklogMs) || breakBound;
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
      peakPerSecond: peakPerSecond(i.timeline),
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
    ...(steps ? { steps, capacity: capacityVerdict(i.plan, steps, breakBound) } : {}),
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
  // Atomically: it replaces a soak's last checkpoint, which must survive a kill during this write.
  writeJsonAtomically(file, result);
  const page = file.replace(/\.json$/, '') + '.html';
  writeFileSync(page, renderHtmlReport(result));
  return page;
}
