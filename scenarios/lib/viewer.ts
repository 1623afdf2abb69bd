import {
  DELETE_MESSAGE_EVENT,
  DISCONNECT_USER_EVENT,
  isMessageFrame,
  messageIdAt,
  parseFrame,
  readSendAttributes,
  scanMessage,
  seqOfRequestId,
} from './codec.ts';
import { Chatter } from './chatter.ts';
import { SEND_ACKED, SEND_REJECTED } from './delivery-ledger.ts';
import { Moderator } from './moderator.ts';
import {
  connectOutcomeOf,
  VIEWER_CLOSING,
  VIEWER_CONNECTING,
  VIEWER_IDLE,
  VIEWER_OPEN,
  VIEWER_TOKEN,
  type Capability,
  type ChatSocket,
  type ChatterHost,
  type ModeratorHost,
  type ReceiveCount,
  type SocketEvents,
  type ViewerHost,
} from './ports.ts';
import { RECEIVED_DUPLICATE, RECEIVED_OUT_OF_ORDER, ReceiveTracker } from './receive-tracker.ts';
import type { DisconnectReason } from './results.ts';
import { ROLE_CHATTER, ROLE_MODERATOR, ROLE_VIEWER } from './schedule.ts';

// One simulated person: its connection's lifecycle and the per-frame receive path. Kept to a
// handful of numbers plus a socket: a generator holds ten thousand of these per core, so
// per-viewer state is what decides how many fit. Sending (chatter.ts) and moderating
// (moderator.ts) live in their own modules and run on the ticker, not per frame.

const FLAG_CLIENT_CLOSE = 1;
const FLAG_KICKED = 2;
const FLAG_EXPIRED = 4;

export class Viewer implements SocketEvents {
  state = VIEWER_IDLE;
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
  readonly chatter: Chatter | null;
  readonly moderator: Moderator | null;
  /** Counting receive mode: the transport counts this viewer's MESSAGE frames here. */
  readonly receiveCount: ReceiveCount | null;

  constructor(
    private readonly host: ViewerHost,
    readonly index: number,
    /** Position in the host's own list. */
    readonly position: number,
    readonly room: number,
    readonly role: number,
    behaviour: ChatterHost & ModeratorHost,
  ) {
    this.tracker = new ReceiveTracker(host.settings.slots);
    this.chatter = role === ROLE_CHATTER ? new Chatter(behaviour, index, room) : null;
    this.moderator = role === ROLE_MODERATOR ? new Moderator(behaviour, index, room) : null;
    // Only plain viewers count: chatters need every frame for their acks, moderators for the Ids.
    const every = host.settings.decodeEvery;
    this.receiveCount = every > 0 && role === ROLE_VIEWER ? { decodeEvery: every, frames: 0, bytes: 0 } : null;
  }

  get isOpen(): boolean {
    return this.state === VIEWER_OPEN;
  }

  get isIdle(): boolean {
    return this.state === VIEWER_IDLE;
  }

  private to(state: number): void {
    const from = this.state;
    this.state = state;
    this.host.moved(from, state);
  }

  private capabilities(): Capability[] {
    if (this.role === ROLE_CHATTER) return ['SEND_MESSAGE'];
    if (this.role === ROLE_MODERATOR) return ['DELETE_MESSAGE', 'DISCONNECT_USER'];
    return [];
  }

  /** Every connection starts with a fresh token: tokens are single-use. */
  connect(): void {
    const h = this.host;
    this.to(VIEWER_TOKEN);
    const attempt = ++this.attempt;
    const started = h.clock.now();
    h.token(this.index, this.room, this.capabilities()).then(
      (token) => {
        h.metrics.tokenIssued(h.clock.now() - started);
        if (this.state !== VIEWER_TOKEN || attempt !== this.attempt) return;
        if (!h.wants(this.position)) {
          this.to(VIEWER_IDLE);
          return;
        }
        this.to(VIEWER_CONNECTING);
        this.flags = 0;
        this.connectStartedAt = h.clock.now();
        this.socket = h.transport.open(h.wsUrlOf(this.index), token, this);
      },
      (error: unknown) => {
        if (this.state !== VIEWER_TOKEN || attempt !== this.attempt) return;
        this.to(VIEWER_IDLE);
        h.metrics.connectFailed(connectOutcomeOf(error));
        h.noteError('CreateChatToken', error);
        this.retryAfterFailure();
      },
    );
  }

  /** Closes from our side; `rejoinAt` > 0 brings the viewer back then. */
  leave(rejoinAt: number): void {
    this.rejoinAt = rejoinAt;
    if (this.state === VIEWER_OPEN) {
      this.to(VIEWER_CLOSING);
      this.flags |= FLAG_CLIENT_CLOSE;
      this.stopAt = this.host.clock.now();
      this.socket!.close();
    } else if (this.state === VIEWER_TOKEN) {
      // The token call is in flight: forget it when it lands.
      this.to(VIEWER_IDLE);
      if (rejoinAt > 0) this.host.rejoin(this.position);
    } else if (this.state === VIEWER_CONNECTING) {
      this.flags |= FLAG_CLIENT_CLOSE;
      this.socket!.close();
    } else if (this.state === VIEWER_IDLE && rejoinAt > 0) {
      this.host.rejoin(this.position);
    }
  }

  onOpen(): void {
    const h = this.host;
    const now = h.clock.now();
    h.metrics.connected(now - this.connectStartedAt);
    this.openedAt = now;
    if (this.receiveCount) {
      this.receiveCount.frames = 0;
      this.receiveCount.bytes = 0;
    }
    if (this.state !== VIEWER_CONNECTING || this.flags & FLAG_CLIENT_CLOSE) {
      // Asked to leave while the handshake was in flight.
      this.stopAt = now;
      this.to(VIEWER_CLOSING);
      this.flags |= FLAG_CLIENT_CLOSE;
      this.socket?.close();
      return;
    }
    this.to(VIEWER_OPEN);
    this.stopAt = 0;
    this.failures = 0;
    this.tracker.reset();
    this.chatter?.opened(now);
  }

  onMessage(data: string | Uint8Array): void {
    const h = this.host;
    const scan = h.scan;
    if (scanMessage(data, scan) >= 0) {
      if (this.moderator) this.moderator.saw(messageIdAt(data, scan), scan.sender, scan.seq);
      this.received(scan.sender, scan.seq, scan.sendTime);
      return;
    }
    const frame = parseFrame(typeof data === 'string' ? data : h.transport.text(data));
    if (!frame) return;
    if (frame.Type === 'MESSAGE') {
      // Counting mode: a MESSAGE the transport did not recognise by its first bytes was not counted there.
      const count = this.receiveCount;
      if (count && typeof data !== 'string' && !isMessageFrame(data, 0, data.length)) {
        count.frames++;
        count.bytes += data.length;
      }
      const a = readSendAttributes(frame.Attributes);
      if (this.moderator) this.moderator.saw(frame.Id, a?.sender ?? -1, a?.seq ?? 0);
      if (a) this.received(a.sender, a.seq, a.sendTime, a.gapFrom);
    } else if (frame.Type === 'EVENT') {
      if (this.moderator && frame.RequestId) this.moderator.resolved(frame.RequestId, SEND_ACKED);
      if (frame.EventName === DISCONNECT_USER_EVENT) {
        h.metrics.moderationEvent('disconnect_user');
        if (frame.Attributes?.UserId === h.layout.userIdOf(this.index)) {
          // Messages published after this event may or may not reach us: our window ends here.
          this.flags |= FLAG_KICKED;
          if (this.stopAt === 0) this.stopAt = h.clock.now();
        }
      } else if (frame.EventName === DELETE_MESSAGE_EVENT) {
        h.metrics.moderationEvent('delete_message');
      }
    } else if (frame.Type === 'ERROR') {
      h.metrics.errorFrame(frame.ErrorCode);
      if (frame.ErrorCode === 401) {
        this.flags |= FLAG_EXPIRED;
        if (this.stopAt === 0) this.stopAt = h.clock.now();
      }
      const seq = seqOfRequestId(frame.RequestId);
      if (seq > 0 && this.chatter) this.chatter.resolve(seq, SEND_REJECTED, h.clock.now());
      if (this.moderator && frame.RequestId) this.moderator.resolved(frame.RequestId, SEND_REJECTED);
    }
  }

  private received(sender: number, seq: number, sendTime: number, gapFrom?: number): void {
    const h = this.host;
    const now = h.clock.now();
    if (sender === this.index) {
      if (this.chatter) this.chatter.resolve(seq, SEND_ACKED, now);
      return;
    }
    const layout = h.layout;
    const slot = layout.slotOf(sender);
    if (slot < 0 || layout.roomOf(sender) !== this.room) return; // not one of this run's senders
    h.metrics.delivered(now - sendTime, this.room);
    if (h.settings.nodes > 1) h.metrics.deliveredVia?.(this.index % h.settings.nodes, now - sendTime);
    if (this.receiveCount) {
      // A sample: loss and duplicates are judged by count at close; order only among samples.
      if (this.tracker.sampled(slot, seq) === RECEIVED_OUT_OF_ORDER) h.metrics.outOfOrder();
      return;
    }
    const outcome = this.tracker.record(slot, seq);
    if (gapFrom) this.tracker.excuse(slot, gapFrom, seq - 1);
    if (outcome === RECEIVED_DUPLICATE) h.metrics.duplicated();
    else if (outcome === RECEIVED_OUT_OF_ORDER) h.metrics.outOfOrder();
  }

  onClose(code: number, refused: boolean): void {
    const h = this.host;
    const now = h.clock.now();
    const state = this.state;
    this.socket = null;
    if (state === VIEWER_CONNECTING) {
      this.to(VIEWER_IDLE);
      if (this.flags & FLAG_CLIENT_CLOSE) {
        if (this.rejoinAt > 0) h.rejoin(this.position);
        return;
      }
      h.metrics.connectFailed(refused ? 'refused' : 'error');
      this.retryAfterFailure();
      return;
    }
    if (state !== VIEWER_OPEN && state !== VIEWER_CLOSING) return;
    this.to(VIEWER_IDLE);
    const closedAt = this.stopAt || now;
    const summary = this.tracker.summary(this.index, this.room, this.openedAt, closedAt);
    if (this.receiveCount) summary.counted = { frames: this.receiveCount.frames, bytes: this.receiveCount.bytes, connectingAt: this.connectStartedAt };
    h.log.closed(summary);
    this.chatter?.closed(closedAt);
    this.moderator?.closed();

    let reason: DisconnectReason;
    if (this.flags & FLAG_CLIENT_CLOSE) reason = 'client';
    else if (this.flags & FLAG_KICKED) reason = 'moderation';
    else if (this.flags & FLAG_EXPIRED) reason = 'session_expired';
    else if (code === 1000 || code === 1001) reason = 'server';
    else reason = 'error';
    h.metrics.disconnected(reason);

    const policy = h.settings.reconnect;
    if (reason === 'client') {
      if (this.rejoinAt > 0) h.rejoin(this.position);
      return;
    }
    const again =
      (reason === 'moderation' && policy.afterDisconnectUser) ||
      (reason === 'session_expired' && policy.afterSessionExpiry) ||
      (reason === 'server' && policy.afterServerClose) ||
      (reason === 'error' && policy.afterError);
    if (again) {
      this.rejoinAt = now + h.jitter(h.settings.reconnectDelayMs);
      h.rejoin(this.position);
    }
  }

  private retryAfterFailure(): void {
    const h = this.host;
    if (!h.settings.reconnect.afterError) return;
    this.failures++;
    const backoff = Math.min(30_000, h.settings.reconnectDelayMs * 2 ** Math.min(this.failures - 1, 5));
    this.rejoinAt = h.clock.now() + h.jitter(backoff);
    h.rejoin(this.position);
  }

  // ---- the ticker's entry points into the behaviours ---------------------------------------------

  sendIfDue(now: number): number {
    return this.chatter!.sendIfDue(this.socket!, now);
  }

  sendScripted(contentJson: string, attributesJson: string, now: number): void {
    this.chatter!.sendScripted(this.socket!, contentJson, attributesJson, now);
  }

  moderate(dtMs: number): void {
    this.moderator!.moderate(this.socket!, dtMs);
  }

  moderationAction(action: 'delete_message' | 'disconnect_user', target: string, viaHttp?: boolean, why?: string): void {
    this.moderator!.act(this.socket, action, target, viaHttp, why);
  }
}
