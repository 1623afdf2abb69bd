import type { Histogram } from 'hdr-histogram-js';
import { DeliveryLedger } from '../lib/delivery-ledger.ts';
import type { ConnectionSummary } from '../lib/receive-tracker.ts';
import { emptyPercentiles, type DeliveryLog, type Percentiles } from '../lib/results.ts';
import type { Plan } from '../lib/schedule.ts';
import { addCounters, newCounters, type Counters } from './counters.ts';
import { decodeHistogram, newHistogram, type RecorderSnapshot } from './latency-recorder.ts';
import type { WorkerReport } from './worker-messages.ts';

// The main thread's view of the run: every worker report is folded in here, and the loss
// ledger is fed and evaluated here, because senders and receivers live in different workers.

export function percentilesOf(h: Histogram): Percentiles {
  if (h.totalCount === 0) return emptyPercentiles();
  const ms = (us: number) => us / 1000;
  return {
    count: h.totalCount,
    p50: ms(h.getValueAtPercentile(50)),
    p90: ms(h.getValueAtPercentile(90)),
    p99: ms(h.getValueAtPercentile(99)),
    p999: ms(h.getValueAtPercentile(99.9)),
    max: ms(h.maxValue),
    mean: ms(h.mean),
  };
}

function addInto(target: Histogram, snapshot: RecorderSnapshot): void {
  const h = decodeHistogram(snapshot.hdr);
  if (h) target.add(h);
}

export interface StepTally {
  frames: number;
  latency: Histogram;
  peakViewers: number;
  startMs: number;
  endMs: number;
}

export class RunAggregate {
  readonly totals: Counters = newCounters();
  /** Since the last tick, for the live line and the timeline. */
  interval: Counters = newCounters();
  readonly latency = newHistogram();
  readonly handshake = newHistogram();
  readonly token = newHistogram();
  readonly ack = newHistogram();
  /** With several nodes: each node's deliveries. */
  readonly nodes: { frames: number; latency: Histogram }[] = [];
  intervalLatency = newHistogram();
  /** Worker reports since the last tick: none means the interval's rates are unknown, not zero. */
  intervalReports = 0;
  readonly ledger: DeliveryLedger;
  private pending: ConnectionSummary[] = [];
  private readonly workers = new Map<number, { connected: number; connecting: number; eventLoopP99Ms: number }>();
  readonly steps: StepTally[] = [];
  /** Messages the chatters sent in each step (all rooms): whether they kept up with its rate. */
  readonly sentByStep: number[] = [];
  /** Set when the run stopped at a step (capacity.ts): what arrives afterwards stays with that step. */
  lastStep = Number.POSITIVE_INFINITY;
  eventLoopRunP99Ms = 0;
  /** Sends by final outcome (index = SEND_* constant). */
  readonly outcomes = [0, 0, 0, 0, 0];
  /** Every moderation action's outcome, [room, tag, outcome], for the chat-log audit. */
  readonly moderations: [room: number, tag: string, outcome: number][] = [];
  /** Missing deliveries found since the last call to takeMissing(). */
  private newMissing = 0;
  /** With --shard: everything the ledger was fed, for the merge to build the whole run's ledger. */
  readonly deliveryLog?: DeliveryLog;

  constructor(
    private readonly plan: Plan,
    private readonly startAt: number,
    options: { keepDeliveryLog?: boolean } = {},
  ) {
    if (options.keepDeliveryLog) this.deliveryLog = { sends: [], resolutions: [], closed: [] };
    const bucketOf = plan.stepMs > 0 ? (sentAt: number) => plan.stepAt(sentAt - startAt) : undefined;
    this.ledger = new DeliveryLedger(plan.layout, plan.settleMs, bucketOf);
  }

  add(r: WorkerReport, now: number): void {
    addCounters(this.totals, r.counters);
    addCounters(this.interval, r.counters);
    this.intervalReports++;
    addInto(this.latency, r.latency);
    addInto(this.intervalLatency, r.latency);
    addInto(this.handshake, r.handshake);
    addInto(this.token, r.token);
    addInto(this.ack, r.ack);
    r.nodes?.forEach((snapshot, node) => {
      const into = (this.nodes[node] ??= { frames: 0, latency: newHistogram() });
      into.frames += snapshot.count;
      addInto(into.latency, snapshot);
    });
    this.workers.set(r.worker, { connected: r.connected, connecting: r.connecting, eventLoopP99Ms: r.eventLoopP99Ms });
    if (r.final) this.eventLoopRunP99Ms = Math.max(this.eventLoopRunP99Ms, r.eventLoopRunP99Ms);

    const s = r.sends;
    for (let k = 0; k < s.length; k += 3) this.ledger.sent(s[k]!, s[k + 1]!, s[k + 2]!);
    if (this.plan.stepMs > 0) {
      // By send time, not by when the report came in: a report can straddle a step's edge. Not
      // folded into a broken step (lastStep) either: the next step's faster sends would inflate it.
      for (let k = 2; k < s.length; k += 3) {
        const step = this.plan.stepAt(s[k]! - this.startAt);
        if (step >= 0) this.sentByStep[step] = (this.sentByStep[step] ?? 0) + 1;
      }
    }
    const z = r.resolutions;
    for (let k = 0; k < z.length; k += 4) {
      this.ledger.resolved(z[k]!, z[k + 1]!, z[k + 2]!, z[k + 3]!);
      this.outcomes[z[k + 2]!]!++;
    }
    for (const c of r.closed) this.pending.push(c);
    if (this.deliveryLog) {
      const log = this.deliveryLog;
      for (const x of s) log.sends.push(x);
      for (const x of z) log.resolutions.push(x);
      for (const c of r.closed) log.closed.push({ ...c, seqs: Array.from(c.seqs) });
    }
    for (const m of r.moderations) this.moderations.push(m);

    const step = Math.min(this.lastStep, this.plan.stepAt(now - this.startAt));
    if (step >= 0) {
      const tally = this.stepTally(step, now);
      tally.frames += r.counters.frames;
      addInto(tally.latency, r.latency);
    }
  }

  private stepTally(step: number, now: number): StepTally {
    while (this.steps.length <= step) {
      this.steps.push({ frames: 0, latency: newHistogram(), peakViewers: 0, startMs: now, endMs: now });
    }
    const tally = this.steps[step]!;
    tally.endMs = now;
    return tally;
  }

  noteViewers(now: number): void {
    const step = Math.min(this.lastStep, this.plan.stepAt(now - this.startAt));
    if (step >= 0) {
      const tally = this.stepTally(step, now);
      tally.peakViewers = Math.max(tally.peakViewers, this.connected);
    }
  }

  get connected(): number {
    let n = 0;
    for (const w of this.workers.values()) n += w.connected;
    return n;
  }

  get worstEventLoopP99Ms(): number {
    let worst = 0;
    for (const w of this.workers.values()) worst = Math.max(worst, w.eventLoopP99Ms);
    return worst;
  }

  /**
   * Judges closed connections once every worker has surely reported the sends and outcomes their
   * window depends on (`all` at the end of the run).
   */
  evaluate(now: number, all: boolean, lagMs: number): void {
    const ready = all ? this.pending : this.pending.filter((c) => c.closedAt + this.plan.settleMs + lagMs < now);
    if (ready.length === 0) return;
    this.pending = all ? [] : this.pending.filter((c) => !(c.closedAt + this.plan.settleMs + lagMs < now));
    for (const c of ready) this.newMissing += this.ledger.evaluate(c).missing;
  }

  takeMissing(): number {
    const n = this.newMissing;
    this.newMissing = 0;
    return n;
  }

  resetInterval(): void {
    this.interval = newCounters();
    this.intervalLatency = newHistogram();
    this.intervalReports = 0;
  }
}
