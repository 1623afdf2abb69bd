import type { ConnectionSummary } from './receive-tracker.ts';

// Loss accounting. A message is *expected* by a connection when the connection was open before the
// message was sent and stayed open until well after the server confirmed it (the sender's own copy
// came back) — the whole window around the send. Expected messages that did not arrive are
// *missing*. Messages that arrived outside that window (a receiver that closed a moment after the
// send, a sender kicked before its ack) are not required, but when they do arrive they count as
// both expected and delivered, so a correct server always shows delivered == expected.

export const SEND_PENDING = 0;
export const SEND_ACKED = 1;
/** An ERROR came back: the server refused it, nobody should get it. */
export const SEND_REJECTED = 2;
/** The sender's connection ended before the outcome was known: maybe published, maybe not. */
export const SEND_UNCERTAIN = 3;
/** No ack and no ERROR although the sender stayed connected: the server dropped it. */
export const SEND_LOST = 4;

export interface DeliveryCount {
  expected: number;
  delivered: number;
  missing: number;
}

/** Clock skew allowed between worker threads when comparing a receiver's open time to a send time. */
const GUARD_MS = 2;

/** One sender's sends, indexed by sequence number (from 1): send time, outcome and when it was known. */
export interface SenderSends {
  readonly count: number;
  readonly times: Float64Array;
  readonly acks: Float64Array;
  readonly outcomes: Uint8Array;
}

class SenderLog implements SenderSends {
  times = new Float64Array(64);
  acks = new Float64Array(64);
  outcomes = new Uint8Array(64);
  count = 0;

  ensure(seq: number): void {
    if (seq < this.times.length) return;
    let size = this.times.length;
    while (size <= seq) size *= 2;
    const times = new Float64Array(size);
    times.set(this.times);
    const acks = new Float64Array(size);
    acks.set(this.acks);
    const outcomes = new Uint8Array(size);
    outcomes.set(this.outcomes);
    this.times = times;
    this.acks = acks;
    this.outcomes = outcomes;
  }

  /** First seq (≥1) sent strictly after `t`, or count+1. Send times grow with seq. */
  firstAfter(t: number): number {
    let lo = 1;
    let hi = this.count + 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.times[mid]! > t) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

export interface SenderIndex {
  senderOf(room: number, slot: number): number;
}

export class DeliveryLedger {
  private readonly logs = new Map<number, SenderLog>();
  readonly totals: DeliveryCount = { expected: 0, delivered: 0, missing: 0 };
  /** Counts by bucketOf(send time), e.g. per capacity step. */
  readonly buckets: DeliveryCount[] = [];
  /** Counting receive mode: frames beyond what a connection could have been sent, over all connections. */
  countedDuplicates = 0;

  constructor(
    private readonly senders: SenderIndex,
    private readonly settleMs: number,
    private readonly bucketOf?: (sentAt: number) => number,
  ) {}

  private countBucket(log: SenderLog | undefined, n: number, missing: boolean): void {
    if (!this.bucketOf || !log || n > log.count) return;
    const b = this.bucketOf(log.times[n]!);
    if (b < 0) return;
    while (this.buckets.length <= b) this.buckets.push({ expected: 0, delivered: 0, missing: 0 });
    const bucket = this.buckets[b]!;
    bucket.expected++;
    if (missing) bucket.missing++;
    else bucket.delivered++;
  }

  sent(sender: number, seq: number, at: number): void {
    let log = this.logs.get(sender);
    if (!log) this.logs.set(sender, (log = new SenderLog()));
    log.ensure(seq);
    log.times[seq] = at;
    if (seq > log.count) log.count = seq;
  }

  sendsOf(sender: number): SenderSends | undefined {
    return this.logs.get(sender);
  }

  resolved(sender: number, seq: number, outcome: number, at: number): void {
    const log = this.logs.get(sender);
    if (!log || seq > log.count) return;
    log.outcomes[seq] = outcome;
    log.acks[seq] = at;
  }

  evaluate(summary: ConnectionSummary): DeliveryCount {
    if (summary.counted) return this.evaluateCounted(summary, summary.counted.frames, summary.counted.connectingAt);
    const result: DeliveryCount = { expected: 0, delivered: 0, missing: 0 };
    const slots = summary.seqs.length / 2;
    for (let slot = 0; slot < slots; slot++) {
      const sender = this.senders.senderOf(summary.room, slot);
      if (sender === summary.viewer) continue;
      const first = summary.seqs[slot * 2]!;
      const last = summary.seqs[slot * 2 + 1]!;
      const ranges = summary.holes?.find(([s]) => s === slot)?.[1] ?? [];
      const log = this.logs.get(sender);
      let from = first > 0 ? first : Number.MAX_SAFE_INTEGER;
      let to = first > 0 ? last : 0;
      if (log) {
        from = Math.min(from, log.firstAfter(summary.openedAt + GUARD_MS));
        to = Math.max(to, log.firstAfter(summary.closedAt) - 1);
      }
      let hole = 0;
      for (let n = from; n <= to; n++) {
        while (hole < ranges.length && ranges[hole + 1]! < n) hole += 2;
        const received = first > 0 && n >= first && n <= last && !(hole < ranges.length && ranges[hole]! <= n);
        if (received) {
          result.delivered++;
          result.expected++;
          this.countBucket(log, n, false);
        } else if (log && this.required(log, n, summary)) {
          result.missing++;
          result.expected++;
          this.countBucket(log, n, true);
        }
      }
    }
    this.totals.expected += result.expected;
    this.totals.delivered += result.delivered;
    this.totals.missing += result.missing;
    return result;
  }

  /**
   * Counting receive mode: the connection says only how many MESSAGE frames it got. Against the
   * senders' logs, its window holds `required` sends it must have got and `optional` ones it may
   * have (published while its upgrade was in flight, sent around its close, or never confirmed):
   * fewer frames than required are missing, more than required + optional are duplicates. Exact
   * as long as the optional sends all arrived or none was duplicated (a lost optional send hides
   * a duplicate one-for-one); the optional ones are few: the handshake's and the close's moments.
   */
  private evaluateCounted(summary: ConnectionSummary, frames: number, connectingAt: number): DeliveryCount {
    let required = 0;
    let optional = 0;
    // Send times of the required ones, with their logs, for the per-step buckets.
    const requiredSends: [log: SenderLog, n: number][] = [];
    const slots = summary.seqs.length / 2;
    for (let slot = 0; slot < slots; slot++) {
      const sender = this.senders.senderOf(summary.room, slot);
      if (sender === summary.viewer) continue;
      const log = this.logs.get(sender);
      if (!log) continue;
      // A send before our open can still have been published after the server subscribed us (after
      // our upgrade request went out), unless its sender had its echo back before that; one a
      // little after our close can still have arrived before the socket went.
      const from = log.firstAfter(connectingAt - this.settleMs);
      const to = log.firstAfter(summary.closedAt + this.settleMs) - 1;
      for (let n = from; n <= to; n++) {
        const outcome = log.outcomes[n]!;
        if (outcome === SEND_REJECTED) continue;
        if (outcome === SEND_ACKED && log.acks[n]! < connectingAt) continue;
        if (this.required(log, n, summary)) {
          required++;
          if (this.bucketOf) requiredSends.push([log, n]);
        } else {
          optional++;
        }
      }
    }
    const missing = Math.max(0, required - frames);
    const duplicated = Math.max(0, frames - required - optional);
    const delivered = frames - duplicated;
    if (this.bucketOf) {
      // Which sends were lost is unknown by count: charge the latest ones (loss comes with load).
      requiredSends.sort((a, b) => a[0].times[a[1]]! - b[0].times[b[1]]!);
      requiredSends.forEach(([log, n], k) => this.countBucket(log, n, k >= requiredSends.length - missing));
    }
    const result: DeliveryCount = { expected: delivered + missing, delivered, missing };
    this.totals.expected += result.expected;
    this.totals.delivered += result.delivered;
    this.totals.missing += result.missing;
    this.countedDuplicates += duplicated;
    return result;
  }

  private required(log: SenderLog, n: number, c: ConnectionSummary): boolean {
    if (n > log.count) return false;
    const outcome = log.outcomes[n]!;
    if (outcome === SEND_REJECTED || outcome === SEND_UNCERTAIN) return false;
    const sentAt = log.times[n]!;
    if (sentAt <= c.openedAt + GUARD_MS) return false;
    const confirmedAt = outcome === SEND_ACKED ? log.acks[n]! : sentAt;
    return confirmedAt + this.settleMs < c.closedAt;
  }
}

/**
 * Without the senders' logs (k6 VUs share no memory) only what a connection saw can be judged:
 * holes between the first and last message of each sender. Losses at the very start or end of a
 * connection are invisible this way; the Node runner's ledger sees them.
 */
export function evaluateGaps(summary: ConnectionSummary): DeliveryCount {
  let delivered = 0;
  let missing = 0;
  const slots = summary.seqs.length / 2;
  for (let slot = 0; slot < slots; slot++) {
    const first = summary.seqs[slot * 2]!;
    if (first === 0) continue;
    const ranges = summary.holes?.find(([s]) => s === slot)?.[1] ?? [];
    const excused = summary.excused?.find(([s]) => s === slot)?.[1] ?? [];
    let gap = 0;
    for (let k = 0; k < ranges.length; k += 2) {
      const a = ranges[k]!;
      const b = ranges[k + 1]!;
      gap += b - a + 1;
      // Not delivered, but not owed either: the sender never learnt whether these were published.
      let pardoned = 0;
      for (let e = 0; e < excused.length; e += 2) pardoned += Math.max(0, Math.min(b, excused[e + 1]!) - Math.max(a, excused[e]!) + 1);
      missing += b - a + 1 - Math.min(pardoned, b - a + 1);
    }
    delivered += summary.seqs[slot * 2 + 1]! - first + 1 - gap;
  }
  return { expected: delivered + missing, delivered, missing };
}
