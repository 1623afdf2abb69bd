import type { MalformedReason, ParsedLog } from './replay-log.ts';
import { malformedCount } from './replay-log.ts';
import { scheduledAt, type ReplayScript, type ReplayStats } from './replay-script.ts';

// How faithfully a replay reproduced its log: per room, messages per second over time as recorded
// (scaled) and as actually sent, and how far each send drifted from its scheduled moment.

export interface ReplayRoomFidelity {
  name: string;
  senders: number;
  audience: number;
  recorded: number;
  sent: number;
  /** Messages per second in each bucket of `bucketSeconds`, from the first recorded moment. */
  recordedPerSecond: number[];
  sentPerSecond: number[];
}

export interface ReplayResult {
  source: string;
  speed: number;
  keepContent: boolean;
  /** The recorded span and the same span as replayed. */
  recordedSeconds: number;
  replayedSeconds: number;
  lines: number;
  malformed: number;
  malformedReasons: Partial<Record<MalformedReason, number>>;
  duplicateRecords: number;
  recordedMessages: number;
  sentMessages: number;
  /** Sends of the same recorded message more than once (must be 0). */
  resent: number;
  recordedEvents: number;
  actions: { deleteMessage: number; disconnectUser: number; event: number };
  stats: ReplayStats;
  roomRateLimit: number;
  driftMs: { count: number; p50: number; p99: number; max: number };
  bucketSeconds: number;
  rooms: ReplayRoomFidelity[];
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

export class ReplayFidelity {
  private readonly sent: Uint8Array;
  private readonly drift: number[] = [];
  private resent = 0;
  private readonly bucketMs: number;
  private readonly sentBuckets: number[][];

  constructor(
    private readonly script: ReplayScript,
    private readonly startAt: number,
  ) {
    this.sent = new Uint8Array(script.sendAt.length);
    // About 60 buckets over the replay, never finer than a second.
    this.bucketMs = Math.max(1000, Math.ceil(script.spanMs / 60 / 1000) * 1000);
    this.sentBuckets = script.rooms.map(() => []);
  }

  private bucketOf(runMs: number): number {
    return Math.max(0, Math.floor((runMs - this.script.leadInMs) / this.bucketMs));
  }

  /** Flat [sender, seq, sentAt, …] as the workers report sends. */
  add(sends: readonly number[]): void {
    const s = this.script;
    for (let k = 0; k < sends.length; k += 3) {
      const sender = sends[k]!;
      const seq = sends[k + 1]!;
      if (sender >= s.senders || seq < 1 || s.sendStart[sender]! + seq > s.sendStart[sender + 1]!) continue;
      const index = s.sendStart[sender]! + seq - 1;
      if (this.sent[index]) {
        this.resent++;
        continue;
      }
      this.sent[index] = 1;
      const runMs = sends[k + 2]! - this.startAt;
      this.drift.push(runMs - scheduledAt(s, sender, seq));
      const buckets = this.sentBuckets[s.senderRoom[sender]!]!;
      const b = this.bucketOf(runMs);
      while (buckets.length <= b) buckets.push(0);
      buckets[b]!++;
    }
  }

  result(log: ParsedLog, source: string, roomRateLimit: number): ReplayResult {
    const s = this.script;
    const drift = Float64Array.from(this.drift).sort();
    const perSecond = (counts: number[]) => counts.map((n) => Math.round((n / (this.bucketMs / 1000)) * 100) / 100);
    const rooms = s.rooms.map((room, r) => {
      const recorded: number[] = [];
      let sent = 0;
      for (let g = room.firstSender; g < room.firstSender + room.senders; g++) {
        for (let k = s.sendStart[g]!; k < s.sendStart[g + 1]!; k++) {
          const b = this.bucketOf(s.sendAt[k]!);
          while (recorded.length <= b) recorded.push(0);
          recorded[b]!++;
          sent += this.sent[k]!;
        }
      }
      const sentBuckets = this.sentBuckets[r]!;
      while (sentBuckets.length < recorded.length) sentBuckets.push(0);
      while (recorded.length < sentBuckets.length) recorded.push(0);
      return {
        name: room.name,
        senders: room.senders,
        audience: room.audience,
        recorded: room.messages,
        sent,
        recordedPerSecond: perSecond(recorded),
        sentPerSecond: perSecond(sentBuckets),
      };
    });
    const count = (kind: string) => s.actions.filter((a) => a.kind === kind).length;
    return {
      source,
      speed: s.speed,
      keepContent: s.keepContent,
      recordedSeconds: (s.spanMs * s.speed) / 1000,
      replayedSeconds: s.spanMs / 1000,
      lines: log.lines,
      malformed: malformedCount(log),
      malformedReasons: log.malformed,
      duplicateRecords: log.duplicates,
      recordedMessages: s.stats.recordedMessages,
      sentMessages: this.drift.length,
      resent: this.resent,
      recordedEvents: s.stats.recordedEvents,
      actions: { deleteMessage: count('delete_message'), disconnectUser: count('disconnect_user'), event: count('event') },
      stats: s.stats,
      roomRateLimit,
      driftMs: {
        count: drift.length,
        p50: percentile(drift, 50),
        p99: percentile(drift, 99),
        max: drift.length ? drift[drift.length - 1]! : 0,
      },
      bucketSeconds: this.bucketMs / 1000,
      rooms,
    };
  }
}

function fixed(n: number, digits = 1): string {
  return Number.isInteger(n) ? String(n) : n.toFixed(digits);
}

/** The replay's lines of the run summary. */
export function formatReplay(r: ReplayResult): string[] {
  const lines = [
    `  replay        ${r.source} at ${fixed(r.speed)}x: ${fixed(r.recordedSeconds)} s recorded → ${fixed(r.replayedSeconds)} s; ` +
      `sent ${r.sentMessages} of ${r.recordedMessages} recorded messages${r.resent ? ` (${r.resent} twice!)` : ''}; ` +
      `${r.keepContent ? 'recorded content' : 'anonymised content'}`,
    `                lines ${r.lines}, malformed ${r.malformed}${r.malformed ? ` (${Object.entries(r.malformedReasons).map(([k, n]) => `${n} ${k}`).join(', ')})` : ''}` +
      `, duplicates ${r.duplicateRecords} · replayed DeleteMessage ${r.actions.deleteMessage}, DisconnectUser ${r.actions.disconnectUser}, events ${r.actions.event}` +
      (r.stats.unmatchedDeletes ? `, ${r.stats.unmatchedDeletes} deletes of messages not in the log skipped` : ''),
    `  drift         p50 ${fixed(r.driftMs.p50, 2)}  p99 ${fixed(r.driftMs.p99, 2)}  max ${fixed(r.driftMs.max, 2)} ms from schedule (${r.driftMs.count} sends)`,
  ];
  for (const room of r.rooms) {
    const peak = (xs: number[]) => fixed(Math.max(0, ...xs), 2);
    lines.push(
      `    ${room.name.slice(0, 24).padEnd(24)} ${room.senders} senders, ${room.audience} viewers · sent ${room.sent}/${room.recorded} · ` +
        `msg/s per ${fixed(r.bucketSeconds)} s peak recorded ${peak(room.recordedPerSecond)} / sent ${peak(room.sentPerSecond)}`,
    );
  }
  return lines;
}
