import { encodeReplayMessage, encodeSendMessage } from './codec.ts';
import { SEND_ACKED, SEND_LOST, SEND_UNCERTAIN } from './delivery-ledger.ts';
import type { ChatSocket, ChatterHost } from './ports.ts';

// A chatter's sending and its sends' outcomes. Sending runs on the swarm's ticker; only `acked`
// runs per frame (the chatter's own MESSAGE coming back), so the receive path stays small.

/** How far behind its schedule a chatter may catch up in one tick (see sendIfDue). */
const CATCH_UP_MS = 100;

export class Chatter {
  seq = 0;
  nextSendAt = 0;
  /** Highest of our sends the server acked. */
  private ackedUpTo = 0;
  /** Set at a close that left sends unacked: the next send tells receivers (SendAttributes.gapFrom). */
  private gapFrom = 0;
  /** Sends waiting for their own MESSAGE to come back: [seq, sentAt, seq, sentAt, …] in send order. */
  private readonly pending: number[] = [];

  constructor(
    private readonly host: ChatterHost,
    private readonly index: number,
    private readonly room: number,
  ) {}

  opened(now: number): void {
    // A random phase spreads the room's sends over the period instead of bursting them together.
    this.nextSendAt = now + this.host.random() * this.host.sendPeriodMs;
  }

  /** Sends what is due; returns how many messages went out. */
  sendIfDue(socket: ChatSocket, now: number): number {
    const period = this.host.sendPeriodMs;
    // The rate stepped up: the next send need not wait out the old, longer period.
    if (this.nextSendAt - now > period) this.nextSendAt = now + this.host.random() * period;
    if (now < this.nextSendAt) return 0;
    // A tick can be due several sends (a 20 ms tick at 100 msg/s, k6's 50 ms at 40): all go, or the
    // rate would be capped at one per tick. Sends due longer ago than CATCH_UP_MS are a stall, not
    // timer granularity: they are skipped (the schedule slides) rather than sent in a burst.
    if (now - this.nextSendAt > CATCH_UP_MS) this.nextSendAt = now - CATCH_UP_MS;
    let sent = 0;
    while (this.nextSendAt <= now) {
      this.nextSendAt += period;
      const seq = ++this.seq;
      socket.send(encodeSendMessage(this.host.content, { sendTime: now, sender: this.index, seq, gapFrom: this.gapFrom }));
      this.sent(seq, now);
      sent++;
    }
    return sent;
  }

  /** A replayed message, sent when its recorded moment comes; `seq` goes on from the last one. */
  sendScripted(socket: ChatSocket, contentJson: string, attributesJson: string, now: number): void {
    const seq = ++this.seq;
    socket.send(encodeReplayMessage(contentJson, { sendTime: now, sender: this.index, seq, gapFrom: this.gapFrom }, attributesJson));
    this.sent(seq, now);
  }

  private sent(seq: number, now: number): void {
    this.gapFrom = 0;
    this.pending.push(seq, now);
    this.host.log.sent(this.index, seq, now);
    this.host.metrics.sent(this.room);
  }

  resolve(seq: number, outcome: number, now: number): void {
    const pending = this.pending;
    for (let k = 0; k < pending.length; k += 2) {
      if (pending[k] !== seq) continue;
      const sentAt = pending[k + 1]!;
      pending.splice(k, 2);
      if (outcome === SEND_ACKED) {
        this.host.metrics.acked(now - sentAt);
        if (seq > this.ackedUpTo) this.ackedUpTo = seq;
      }
      this.host.log.resolved(this.index, seq, outcome, now);
      return;
    }
  }

  /** The connection ended: what is still unanswered is lost or uncertain. */
  closed(closedAt: number): void {
    if (this.seq > this.ackedUpTo && this.gapFrom === 0) this.gapFrom = this.ackedUpTo + 1;
    const pending = this.pending;
    for (let k = 0; k < pending.length; k += 2) {
      // Still unanswered long after the send while we were connected: the server dropped it.
      const outcome = pending[k + 1]! + this.host.settleMs < closedAt ? SEND_LOST : SEND_UNCERTAIN;
      this.host.log.resolved(this.index, pending[k]!, outcome, closedAt);
    }
    pending.length = 0;
  }
}
