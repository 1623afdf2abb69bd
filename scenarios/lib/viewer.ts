import {
  DELETE_MESSAGE_EVENT,
  DISCONNECT_USER_EVENT,
  encodeDeleteMessage,
  encodeDisconnectUser,
  encodeReplayMessage,
  encodeSendMessage,
  messageIdAt,
  parseFrame,
  readSendAttributes,
  scanMessage,
  seqOfRequestId,
  type MessageScan,
} from './codec.ts';
import { SEND_ACKED, SEND_LOST, SEND_REJECTED, SEND_UNCERTAIN } from './delivery-ledger.ts';
import { connectOutcomeOf, ControlPlaneError, type Capability, type ChatSocket, type SocketEvents } from './ports.ts';
import { RECEIVED_DUPLICATE, RECEIVED_OUT_OF_ORDER, ReceiveTracker } from './receive-tracker.ts';
import type { DisconnectReason } from './results.ts';
import { ROLE_CHATTER, ROLE_MODERATOR } from './schedule.ts';
import type { Swarm } from './swarm.ts';

// One simulated person. Kept to a handful of numbers plus a socket: a generator holds ten
// thousand of these per core, so per-viewer state is what decides how many fit.

const IDLE = 0;
const TOKEN = 1;
const CONNECTING = 2;
const OPEN = 3;
const CLOSING = 4;

const FLAG_CLIENT_CLOSE = 1;
const FLAG_KICKED = 2;
const FLAG_EXPIRED = 4;

const REASON = 'chatstorm load test';
const RECENT_IDS = 32;

class ChatterState {
  seq = 0;
  nextSendAt = 0;
  /** Highest of our sends the server acked. */
  ackedUpTo = 0;
  /** Set at a close that left sends unacked: the next send tells receivers (SendAttributes.gapFrom). */
  gapFrom = 0;
  /** Sends waiting for their own MESSAGE to come back: [seq, sentAt, seq, sentAt, …] in send order. */
  pending: number[] = [];
}

class ModeratorState {
  recentIds: string[] = [];
  /** Tags of WebSocket actions waiting for their event (or ERROR) to come back. */
  pending: string[] = [];
  deleteCarry = 0;
  disconnectCarry = 0;
  requests = 0;
}

export class Viewer implements SocketEvents {
  state = IDLE;
  private flags = 0;
  socket: ChatSocket | null = null;
  private openedAt = 0;
  private stopAt = 0;
  private connectStartedAt = 0;
  /** When to come back after a close we caused (churn, storm); 0 = stay away. */
  rejoinAt = 0;
  private failures = 0;
  /** Tells a token call that landed after its viewer moved on from the one still wanted. */
  private attempt = 0;
  private readonly tracker: ReceiveTracker;
  readonly chatter: ChatterState | null;
  readonly moderator: ModeratorState | null;

  constructor(
    private readonly swarm: Swarm,
    readonly index: number,
    /** Position in the swarm's own list. */
    readonly position: number,
    readonly room: number,
    readonly role: number,
  ) {
    this.tracker = new ReceiveTracker(swarm.plan.profile.chattersPerRoom);
    this.chatter = role === ROLE_CHATTER ? new ChatterState() : null;
    this.moderator = role === ROLE_MODERATOR ? new ModeratorState() : null;
  }

  get isOpen(): boolean {
    return this.state === OPEN;
  }

  get isIdle(): boolean {
    return this.state === IDLE;
  }

  private capabilities(): Capability[] {
    if (this.role === ROLE_CHATTER) return ['SEND_MESSAGE'];
    if (this.role === ROLE_MODERATOR) return ['DELETE_MESSAGE', 'DISCONNECT_USER'];
    return [];
  }

  /** Every connection starts with a fresh token: tokens are single-use. */
  connect(): void {
    const s = this.swarm;
    this.state = TOKEN;
    s.connecting++;
    const attempt = ++this.attempt;
    const started = s.clock.now();
    s.control
      .createChatToken({
        roomArn: s.rooms[this.room]!.arn,
        userId: s.plan.layout.userIdOf(this.index),
        capabilities: this.capabilities(),
        sessionDurationInMinutes: s.plan.profile.sessionDurationMinutes,
      })
      .then(
        (token) => {
          s.metrics.tokenIssued(s.clock.now() - started);
          if (this.state !== TOKEN || attempt !== this.attempt) return;
          if (!s.wants(this)) {
            this.state = IDLE;
            s.connecting--;
            return;
          }
          this.state = CONNECTING;
          this.flags = 0;
          this.connectStartedAt = s.clock.now();
          this.socket = s.transport.open(s.wsUrlOf(this.index), token, this);
        },
        (error: unknown) => {
          if (this.state !== TOKEN || attempt !== this.attempt) return;
          s.connecting--;
          this.state = IDLE;
          const outcome = connectOutcomeOf(error);
          s.metrics.connectFailed(outcome);
          s.noteError('CreateChatToken', error);
          this.retryAfterFailure();
        },
      );
  }

  /** Closes from our side; `rejoinAt` > 0 brings the viewer back then. */
  leave(rejoinAt: number): void {
    this.rejoinAt = rejoinAt;
    if (this.state === OPEN) {
      this.state = CLOSING;
      this.flags |= FLAG_CLIENT_CLOSE;
      this.stopAt = this.swarm.clock.now();
      this.socket!.close();
    } else if (this.state === TOKEN) {
      // The token call is in flight: forget it when it lands.
      this.state = IDLE;
      this.swarm.connecting--;
      if (rejoinAt > 0) this.swarm.queueRejoin(this);
    } else if (this.state === CONNECTING) {
      this.flags |= FLAG_CLIENT_CLOSE;
      this.socket!.close();
    } else if (this.state === IDLE && rejoinAt > 0) {
      this.swarm.queueRejoin(this);
    }
  }

  onOpen(): void {
    const s = this.swarm;
    const now = s.clock.now();
    s.connecting--;
    if (this.state !== CONNECTING || this.flags & FLAG_CLIENT_CLOSE) {
      // Asked to leave while the handshake was in flight.
      s.metrics.connected(now - this.connectStartedAt);
      s.connected++;
      this.openedAt = now;
      this.stopAt = now;
      this.state = CLOSING;
      this.flags |= FLAG_CLIENT_CLOSE;
      this.socket?.close();
      return;
    }
    this.state = OPEN;
    this.openedAt = now;
    this.stopAt = 0;
    this.failures = 0;
    this.tracker.reset();
    s.connected++;
    s.metrics.connected(now - this.connectStartedAt);
    if (this.chatter) {
      // A random phase spreads the room's sends over the period instead of bursting them together.
      this.chatter.nextSendAt = now + s.random() * s.sendPeriodMs;
    }
  }

  onMessage(data: string | Uint8Array): void {
    const s = this.swarm;
    const scan = s.scan;
    if (scanMessage(data, scan) >= 0) {
      if (this.moderator) this.rememberId(messageIdAt(data, scan), scan.sender, scan.seq);
      this.received(scan.sender, scan.seq, scan.sendTime);
      return;
    }
    const frame = parseFrame(typeof data === 'string' ? data : s.transport.text(data));
    if (!frame) return;
    if (frame.Type === 'MESSAGE') {
      const a = readSendAttributes(frame.Attributes);
      if (this.moderator) this.rememberId(frame.Id, a?.sender ?? -1, a?.seq ?? 0);
      if (a) this.received(a.sender, a.seq, a.sendTime, a.gapFrom);
    } else if (frame.Type === 'EVENT') {
      if (this.moderator && frame.RequestId) this.actionResolved(frame.RequestId, SEND_ACKED);
      if (frame.EventName === DISCONNECT_USER_EVENT) {
        s.metrics.moderationEvent('disconnect_user');
        if (frame.Attributes?.UserId === s.plan.layout.userIdOf(this.index)) {
          // Messages published after this event may or may not reach us: our window ends here.
          this.flags |= FLAG_KICKED;
          if (this.stopAt === 0) this.stopAt = s.clock.now();
        }
      } else if (frame.EventName === DELETE_MESSAGE_EVENT) {
        s.metrics.moderationEvent('delete_message');
      }
    } else if (frame.Type === 'ERROR') {
      s.metrics.errorFrame(frame.ErrorCode);
      if (frame.ErrorCode === 401) {
        this.flags |= FLAG_EXPIRED;
        if (this.stopAt === 0) this.stopAt = s.clock.now();
      }
      const seq = seqOfRequestId(frame.RequestId);
      if (seq > 0 && this.chatter) this.resolve(seq, SEND_REJECTED, s.clock.now());
      if (this.moderator && frame.RequestId) this.actionResolved(frame.RequestId, SEND_REJECTED);
    }
  }

  private received(sender: number, seq: number, sendTime: number, gapFrom?: number): void {
    const s = this.swarm;
    const now = s.clock.now();
    if (sender === this.index) {
      if (this.chatter) this.resolve(seq, SEND_ACKED, now);
      return;
    }
    const layout = s.plan.layout;
    const slot = layout.slotOf(sender);
    if (slot < 0 || layout.roomOf(sender) !== this.room) return; // not one of this run's senders
    s.metrics.delivered(now - sendTime, this.room);
    if (s.nodes > 1) s.metrics.deliveredVia?.(this.index % s.nodes, now - sendTime);
    const outcome = this.tracker.record(slot, seq);
    if (gapFrom) this.tracker.excuse(slot, gapFrom, seq - 1);
    if (outcome === RECEIVED_DUPLICATE) s.metrics.duplicated();
    else if (outcome === RECEIVED_OUT_OF_ORDER) s.metrics.outOfOrder();
  }

  onClose(code: number, refused: boolean): void {
    const s = this.swarm;
    const now = s.clock.now();
    const state = this.state;
    this.socket = null;
    if (state === CONNECTING) {
      s.connecting--;
      this.state = IDLE;
      if (this.flags & FLAG_CLIENT_CLOSE) {
        if (this.rejoinAt > 0) s.queueRejoin(this);
        return;
      }
      s.metrics.connectFailed(refused ? 'refused' : 'error');
      this.retryAfterFailure();
      return;
    }
    if (state !== OPEN && state !== CLOSING) return;
    this.state = IDLE;
    s.connected--;
    const closedAt = this.stopAt || now;
    s.log.closed(this.tracker.summary(this.index, this.room, this.openedAt, closedAt));
    if (this.chatter) this.settlePending(closedAt);
    if (this.moderator) {
      // Sent, but the connection ended before the answer: maybe done, maybe not.
      for (const tag of this.moderator.pending) s.log.moderated?.(this.room, tag, SEND_UNCERTAIN);
      this.moderator.pending.length = 0;
    }

    let reason: DisconnectReason;
    if (this.flags & FLAG_CLIENT_CLOSE) reason = 'client';
    else if (this.flags & FLAG_KICKED) reason = 'moderation';
    else if (this.flags & FLAG_EXPIRED) reason = 'session_expired';
    else if (code === 1000 || code === 1001) reason = 'server';
    else reason = 'error';
    s.metrics.disconnected(reason);

    const policy = s.plan.profile.reconnect;
    if (reason === 'client') {
      if (this.rejoinAt > 0) s.queueRejoin(this);
      return;
    }
    const again =
      (reason === 'moderation' && policy.afterDisconnectUser) ||
      (reason === 'session_expired' && policy.afterSessionExpiry) ||
      (reason === 'server' && policy.afterServerClose) ||
      (reason === 'error' && policy.afterError);
    if (again) {
      this.rejoinAt = now + s.jitter(s.reconnectDelayMs);
      s.queueRejoin(this);
    }
  }

  private retryAfterFailure(): void {
    const s = this.swarm;
    if (!s.plan.profile.reconnect.afterError) return;
    this.failures++;
    const backoff = Math.min(30_000, s.reconnectDelayMs * 2 ** Math.min(this.failures - 1, 5));
    this.rejoinAt = s.clock.now() + s.jitter(backoff);
    s.queueRejoin(this);
  }

  // ---- chatting ----------------------------------------------------------------------------

  /** Sends when due; returns whether a message went out. */
  sendIfDue(now: number): boolean {
    const c = this.chatter!;
    if (now < c.nextSendAt) return false;
    const s = this.swarm;
    // Never burst to catch up after a stall: the schedule slides instead.
    c.nextSendAt = Math.max(c.nextSendAt + s.sendPeriodMs, now + s.sendPeriodMs / 2);
    const seq = ++c.seq;
    this.socket!.send(encodeSendMessage(s.content, { sendTime: now, sender: this.index, seq, gapFrom: c.gapFrom }));
    c.gapFrom = 0;
    c.pending.push(seq, now);
    s.log.sent(this.index, seq, now);
    s.metrics.sent(this.room);
    return true;
  }

  /** A replayed message, sent when its recorded moment comes; `seq` goes on from the last one. */
  sendScripted(contentJson: string, attributesJson: string, now: number): void {
    const c = this.chatter!;
    const s = this.swarm;
    const seq = ++c.seq;
    this.socket!.send(encodeReplayMessage(contentJson, { sendTime: now, sender: this.index, seq, gapFrom: c.gapFrom }, attributesJson));
    c.gapFrom = 0;
    c.pending.push(seq, now);
    s.log.sent(this.index, seq, now);
    s.metrics.sent(this.room);
  }

  private resolve(seq: number, outcome: number, now: number): void {
    const pending = this.chatter!.pending;
    for (let k = 0; k < pending.length; k += 2) {
      if (pending[k] !== seq) continue;
      const sentAt = pending[k + 1]!;
      pending.splice(k, 2);
      if (outcome === SEND_ACKED) {
        this.swarm.metrics.acked(now - sentAt);
        if (seq > this.chatter!.ackedUpTo) this.chatter!.ackedUpTo = seq;
      }
      this.swarm.log.resolved(this.index, seq, outcome, now);
      return;
    }
  }

  private settlePending(closedAt: number): void {
    const s = this.swarm;
    const c = this.chatter!;
    if (c.seq > c.ackedUpTo && c.gapFrom === 0) c.gapFrom = c.ackedUpTo + 1;
    const pending = c.pending;
    for (let k = 0; k < pending.length; k += 2) {
      // Still unanswered long after the send while we were connected: the server dropped it.
      const outcome = pending[k + 1]! + s.plan.settleMs < closedAt ? SEND_LOST : SEND_UNCERTAIN;
      s.log.resolved(this.index, pending[k]!, outcome, closedAt);
    }
    pending.length = 0;
  }

  // ---- moderating ----------------------------------------------------------------------------

  private rememberId(id: string, sender: number, seq: number): void {
    this.swarm.replay?.saw(sender, seq, id);
    const ids = this.moderator!.recentIds;
    ids.push(id);
    if (ids.length > RECENT_IDS) ids.shift();
  }

  moderate(dtMs: number): void {
    const m = this.moderator!;
    const s = this.swarm;
    const policy = s.plan.profile.moderation;
    m.deleteCarry += (policy.deleteMessagePerSecond * dtMs) / 1000;
    m.disconnectCarry += (policy.disconnectUserPerSecond * dtMs) / 1000;
    while (m.deleteCarry >= 1) {
      m.deleteCarry--;
      const id = m.recentIds.pop();
      if (id) this.moderationAction('delete_message', id);
    }
    while (m.disconnectCarry >= 1) {
      m.disconnectCarry--;
      const victim = s.pickVictim(this.room, this.index);
      if (victim >= 0) this.moderationAction('disconnect_user', s.plan.layout.userIdOf(victim));
    }
  }

  private actionResolved(tag: string, outcome: number): void {
    const pending = this.moderator!.pending;
    const k = pending.indexOf(tag);
    if (k < 0) return;
    pending.splice(k, 1);
    this.swarm.log.moderated?.(this.room, tag, outcome);
  }

  moderationAction(
    action: 'delete_message' | 'disconnect_user',
    target: string,
    viaHttp = this.swarm.random() < this.swarm.plan.profile.moderation.httpShare,
    why = REASON,
  ): void {
    const s = this.swarm;
    const m = this.moderator!;
    s.metrics.moderation(action, viaHttp ? 'http' : 'websocket');
    // One moderator per room, so the tag names the action within its room; it rides in the Reason
    // (HTTP events carry no RequestId) so the chat-log audit can find each action's event.
    const tag = `${action === 'delete_message' ? 'd' : 'x'}${++m.requests}`;
    const reason = `${why} ${tag}`;
    if (!viaHttp) {
      m.pending.push(tag);
      this.socket!.send(
        action === 'delete_message' ? encodeDeleteMessage(tag, target, reason) : encodeDisconnectUser(tag, target, reason),
      );
      return;
    }
    const arn = s.rooms[this.room]!.arn;
    const call =
      action === 'delete_message' ? s.control.deleteMessage(arn, target, reason) : s.control.disconnectUser(arn, target, reason);
    call.then(
      () => s.log.moderated?.(this.room, tag, SEND_ACKED),
      (error: unknown) => {
        s.noteError(action === 'delete_message' ? 'DeleteMessage' : 'DisconnectUser', error);
        // A 4xx refused it: not done. No answer, or a 5xx: unknown.
        const refused = error instanceof ControlPlaneError && error.status >= 400 && error.status < 500;
        s.log.moderated?.(this.room, tag, refused ? SEND_REJECTED : SEND_UNCERTAIN);
      },
    );
  }
}
