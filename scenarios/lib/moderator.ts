import { encodeDeleteMessage, encodeDisconnectUser } from './codec.ts';
import { SEND_ACKED, SEND_REJECTED, SEND_UNCERTAIN } from './delivery-ledger.ts';
import { ControlPlaneError, type ChatSocket, type ModeratorHost } from './ports.ts';

// A moderator's actions (DeleteMessage, DisconnectUser, over its WebSocket or the HTTP API) and
// their outcomes. Acting runs on the swarm's ticker; per frame only `saw` and `resolved` run.

const REASON = 'chatstorm load test';
const RECENT_IDS = 32;

export class Moderator {
  private readonly recentIds: string[] = [];
  /** Tags of WebSocket actions waiting for their event (or ERROR) to come back. */
  private readonly pending: string[] = [];
  private deleteCarry = 0;
  private disconnectCarry = 0;
  private requests = 0;

  constructor(
    private readonly host: ModeratorHost,
    private readonly index: number,
    private readonly room: number,
  ) {}

  saw(id: string, sender: number, seq: number): void {
    this.host.saw?.(sender, seq, id);
    const ids = this.recentIds;
    ids.push(id);
    if (ids.length > RECENT_IDS) ids.shift();
  }

  moderate(socket: ChatSocket, dtMs: number): void {
    const policy = this.host.moderation;
    this.deleteCarry += (policy.deleteMessagePerSecond * dtMs) / 1000;
    this.disconnectCarry += (policy.disconnectUserPerSecond * dtMs) / 1000;
    while (this.deleteCarry >= 1) {
      this.deleteCarry--;
      const id = this.recentIds.pop();
      if (id) this.act(socket, 'delete_message', id);
    }
    while (this.disconnectCarry >= 1) {
      this.disconnectCarry--;
      const victim = this.host.pickVictim(this.room, this.index);
      if (victim >= 0) this.act(socket, 'disconnect_user', this.host.layout.userIdOf(victim));
    }
  }

  /** The event (or ERROR) a WebSocket action named `tag` asked for came back. */
  resolved(tag: string, outcome: number): void {
    const k = this.pending.indexOf(tag);
    if (k < 0) return;
    this.pending.splice(k, 1);
    this.host.log.moderated?.(this.room, tag, outcome);
  }

  /** Sent, but the connection ended before the answer: maybe done, maybe not. */
  closed(): void {
    for (const tag of this.pending) this.host.log.moderated?.(this.room, tag, SEND_UNCERTAIN);
    this.pending.length = 0;
  }

  act(
    socket: ChatSocket | null,
    action: 'delete_message' | 'disconnect_user',
    target: string,
    viaHttp = this.host.random() < this.host.moderation.httpShare,
    why = REASON,
  ): void {
    const h = this.host;
    h.metrics.moderation(action, viaHttp ? 'http' : 'websocket');
    // One moderator per room, so the tag names the action within its room; it rides in the Reason
    // (HTTP events carry no RequestId) so the chat-log audit can find each action's event.
    const tag = `${action === 'delete_message' ? 'd' : 'x'}${++this.requests}`;
    const reason = `${why} ${tag}`;
    if (!viaHttp) {
      this.pending.push(tag);
      socket!.send(action === 'delete_message' ? encodeDeleteMessage(tag, target, reason) : encodeDisconnectUser(tag, target, reason));
      return;
    }
    const arn = h.roomArn(this.room);
    const call = action === 'delete_message' ? h.control.deleteMessage(arn, target, reason) : h.control.disconnectUser(arn, target, reason);
    call.then(
      () => h.log.moderated?.(this.room, tag, SEND_ACKED),
      (error: unknown) => {
        h.noteError(action === 'delete_message' ? 'DeleteMessage' : 'DisconnectUser', error);
        // A 4xx refused it: not done. No answer, or a 5xx: unknown.
        const refused = error instanceof ControlPlaneError && error.status >= 400 && error.status < 500;
        h.log.moderated?.(this.room, tag, refused ? SEND_REJECTED : SEND_UNCERTAIN);
      },
    );
  }
}
