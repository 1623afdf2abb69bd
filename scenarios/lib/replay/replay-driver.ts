import type { ModeratorHost } from '../ports.ts';
import type { Viewer } from '../viewer.ts';
import type { ReplayAction, ReplayScript } from './replay-script.ts';

// Plays a slice's part of the script on the swarm's ticker: each chatter sends its recorded
// messages when their (scaled) moment comes, each moderator replays its room's moderation and
// events. A message due while its sender is away (kicked, reconnecting) goes out as soon as the
// sender is back — every recorded message is sent once; the delay shows up as schedule drift.

const REASON = 'chatstorm replay';
/** How long a replayed DeleteMessage waits for its moderator to see the message it names. */
const ID_WAIT_MS = 5000;

interface ModeratorPart {
  viewer: Viewer;
  actions: ReplayAction[];
  next: number;
}

export class ReplayDriver {
  private readonly chatters: { viewer: Viewer; start: number; count: number }[];
  private readonly moderated: ModeratorPart[] = [];
  /** Server Ids of replayed messages that a recorded delete names, as the moderators see them. */
  private readonly ids = new Map<string, string>();
  private readonly wanted = new Set<string>();
  private waiting: { action: ReplayAction; part: ModeratorPart }[] = [];

  constructor(
    private readonly swarm: Pick<ModeratorHost, 'metrics' | 'layout' | 'control' | 'roomArn' | 'noteError'>,
    private readonly script: ReplayScript,
    chatters: readonly Viewer[],
    moderators: readonly Viewer[],
  ) {
    this.chatters = chatters.map((viewer) => ({
      viewer,
      start: script.sendStart[viewer.index]!,
      count: script.sendStart[viewer.index + 1]! - script.sendStart[viewer.index]!,
    }));
    for (const viewer of moderators) {
      const actions = script.actions.filter((a) => a.room === viewer.room);
      this.moderated.push({ viewer, actions, next: 0 });
      for (const a of actions) if (a.kind === 'delete_message') this.wanted.add(`${a.sender}:${a.seq}`);
    }
  }

  /** A moderator saw a message: keep its Id when a recorded delete will name it. */
  saw(sender: number, seq: number, id: string): void {
    if (this.wanted.size === 0) return;
    const key = `${sender}:${seq}`;
    if (this.wanted.has(key)) this.ids.set(key, id);
  }

  tick(t: number, now: number): void {
    const sendAt = this.script.sendAt;
    for (const c of this.chatters) {
      const v = c.viewer;
      if (!v.isOpen) continue;
      const chatter = v.chatter!;
      while (chatter.seq < c.count && sendAt[c.start + chatter.seq]! <= t) {
        const k = c.start + chatter.seq;
        v.sendScripted(this.script.contentJson[k]!, this.script.attributesJson[k]!, now);
      }
    }
    for (const part of this.moderated) {
      while (part.next < part.actions.length && part.actions[part.next]!.at <= t) {
        const action = part.actions[part.next]!;
        if (action.via === 'websocket' && !part.viewer.isOpen) break;
        part.next++;
        if (!this.run(action, part)) this.waiting.push({ action, part });
      }
    }
    if (this.waiting.length > 0) {
      this.waiting = this.waiting.filter(({ action, part }) => {
        if (action.via === 'websocket' && !part.viewer.isOpen) return true;
        if (this.run(action, part)) return false;
        if (t - action.at < ID_WAIT_MS) return true;
        this.swarm.metrics.apiError('DeleteMessage (replayed message never seen)', 0);
        return false;
      });
    }
  }

  /** False when a delete has to wait for the Id of the message it names. */
  private run(a: ReplayAction, part: ModeratorPart): boolean {
    const s = this.swarm;
    const reason = a.reason || REASON;
    if (a.kind === 'delete_message') {
      const id = this.ids.get(`${a.sender}:${a.seq}`);
      if (!id) return false;
      part.viewer.moderationAction('delete_message', id, a.via === 'http', reason);
      return true;
    }
    if (a.kind === 'disconnect_user') {
      const userId = a.viewer >= 0 ? s.layout.userIdOf(a.viewer) : a.userId;
      part.viewer.moderationAction('disconnect_user', userId, a.via === 'http', reason);
      return true;
    }
    const send = s.control.sendEvent;
    if (!send) {
      s.metrics.apiError('SendEvent (not supported by this engine)', 0);
      return true;
    }
    send.call(s.control, s.roomArn(a.room), a.eventName, a.attributes).catch((error: unknown) => s.noteError('SendEvent', error));
    return true;
  }
}
