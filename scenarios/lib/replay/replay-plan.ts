import type { Profile } from '../profile.ts';
import { Plan, ROLE_CHATTER, ROLE_MODERATOR, ROLE_VIEWER, type RoomLayout } from '../schedule.ts';
import type { ReplayScript } from './replay-script.ts';

// A replay is a plan like any other — ramp, load phase, drain — whose rooms, senders and audience
// come from the recorded log instead of the profile's numbers.

/** After the last recorded moment: time for its ack and any moderation of it. */
const TAIL_MS = 1500;

export class ReplayLayout implements RoomLayout {
  readonly rooms: number;
  readonly viewers: number;
  readonly chatters: number;
  readonly moderators: number;
  private readonly moderatorRooms: number[];

  constructor(private readonly script: ReplayScript) {
    this.rooms = script.rooms.length;
    this.chatters = script.senders;
    this.moderators = script.moderators;
    this.viewers = script.senders + script.moderators + script.audience;
    this.moderatorRooms = [];
    script.rooms.forEach((room, r) => {
      if (room.moderator >= 0) this.moderatorRooms[room.moderator - script.senders] = r;
    });
  }

  roleOf(i: number): number {
    if (i < this.chatters) return ROLE_CHATTER;
    if (i < this.chatters + this.moderators) return ROLE_MODERATOR;
    return ROLE_VIEWER;
  }

  roomOf(i: number): number {
    if (i < this.chatters) return this.script.senderRoom[i]!;
    if (i < this.chatters + this.moderators) return this.moderatorRooms[i - this.chatters]!;
    return this.script.audienceRoom[i - this.chatters - this.moderators]!;
  }

  slotOf(i: number): number {
    return i < this.chatters ? this.script.senderSlot[i]! : -1;
  }

  /** -1 past the room's own senders: rooms differ in senders, trackers are sized for the largest. */
  senderOf(room: number, slot: number): number {
    const r = this.script.rooms[room]!;
    return slot < r.senders ? r.firstSender + slot : -1;
  }

  userIdOf(i: number): string {
    return `v${i}`;
  }
}

/** The profile as the replay runs it: its own rooms, audience and length; the rest from `base`. */
export function replayProfile(base: Profile, script: ReplayScript): Profile {
  const maxSenders = Math.max(1, ...script.rooms.map((r) => r.senders));
  return {
    ...base,
    rooms: script.rooms.length,
    viewers: Math.max(1, script.senders + script.moderators + script.audience),
    hotRoomShare: 0,
    chattersPerRoom: maxSenders,
    // No synthetic chat or moderation: everything that is said and done comes from the log.
    rate: 0,
    moderation: { ...base.moderation, deleteMessagePerSecond: 0, disconnectUserPerSecond: 0 },
    churn: { ...base.churn, leavePerSecond: 0, storms: [] },
    steps: 0,
    duration: `${Math.ceil(script.leadInMs + script.spanMs + TAIL_MS)}ms`,
    // A recorded kick is followed by the user coming back when the log has more from them.
    reconnect: { ...base.reconnect, afterDisconnectUser: true },
  };
}

export class ReplayPlan extends Plan {
  constructor(
    profile: Profile,
    readonly script: ReplayScript,
  ) {
    super(profile, new ReplayLayout(script));
  }

  override roomMessageRate(): number {
    return Math.max(0, ...this.script.rooms.map((r) => r.peakPerSecond));
  }

  /** The busiest recorded second, scaled, with headroom: bursts are the point of a replay. */
  override roomRateLimit(cap: number): number {
    return Math.min(cap, Math.max(10, Math.ceil(this.roomMessageRate() * 1.5) + 1));
  }
}
