import { parseDurationMs } from './duration.ts';
import type { Profile } from './profile.ts';

// Turns a profile into who is where (layout) and what happens when (plan). Both engines and all
// workers compute the same answers from the same profile, so nothing has to be coordinated at run
// time: viewer i always belongs to the same room, and the ramp always admits viewers in index order.

export const ROLE_VIEWER = 0;
export const ROLE_CHATTER = 1;
export const ROLE_MODERATOR = 2;

const GOLDEN = 0.6180339887498949;

/** Who is where: what the viewers, the ledger and the swarm ask of a layout (replay has its own). */
export interface RoomLayout {
  readonly rooms: number;
  readonly viewers: number;
  readonly chatters: number;
  readonly moderators: number;
  roleOf(i: number): number;
  roomOf(i: number): number;
  slotOf(i: number): number;
  senderOf(room: number, slot: number): number;
  userIdOf(i: number): string;
}

export class Layout implements RoomLayout {
  readonly rooms: number;
  readonly viewers: number;
  readonly chattersPerRoom: number;
  /** Viewers 0..chatters-1 chat: viewer i sits in room i % rooms with sender slot floor(i / rooms). */
  readonly chatters: number;
  /** One moderator per room follows the chatters when the profile moderates. */
  readonly moderators: number;
  private readonly hotShare: number;

  constructor(profile: Pick<Profile, 'rooms' | 'viewers' | 'chattersPerRoom' | 'hotRoomShare' | 'moderation'>) {
    this.rooms = profile.rooms;
    this.viewers = profile.viewers;
    this.chattersPerRoom = profile.chattersPerRoom;
    this.chatters = Math.min(profile.viewers, profile.rooms * profile.chattersPerRoom);
    const moderated = profile.moderation.deleteMessagePerSecond > 0 || profile.moderation.disconnectUserPerSecond > 0;
    this.moderators = moderated ? Math.min(profile.rooms, profile.viewers - this.chatters) : 0;
    this.hotShare = profile.rooms > 1 ? profile.hotRoomShare : 0;
  }

  roleOf(i: number): number {
    if (i < this.chatters) return ROLE_CHATTER;
    if (i < this.chatters + this.moderators) return ROLE_MODERATOR;
    return ROLE_VIEWER;
  }

  roomOf(i: number): number {
    if (i < this.chatters) return i % this.rooms;
    if (i < this.chatters + this.moderators) return i - this.chatters;
    const k = i - this.chatters - this.moderators;
    if (this.hotShare <= 0) return k % this.rooms;
    // A low-discrepancy sequence keeps the hot-room share exact at every ramp level, not just at the peak.
    const x = (k * GOLDEN) % 1;
    if (x < this.hotShare) return 0;
    return 1 + Math.min(this.rooms - 2, Math.floor(((x - this.hotShare) / (1 - this.hotShare)) * (this.rooms - 1)));
  }

  /** The sender slot of a chatter within its room, or -1. */
  slotOf(i: number): number {
    return i < this.chatters ? Math.floor(i / this.rooms) : -1;
  }

  senderOf(room: number, slot: number): number {
    return slot * this.rooms + room;
  }

  userIdOf(i: number): string {
    return `v${i}`;
  }
}

export type Phase = 'ramp' | 'steady' | 'drain' | 'done';

export class Plan {
  readonly profile: Profile;
  readonly layout: RoomLayout;
  readonly durationMs: number;
  readonly rampUpMs: number;
  readonly drainMs: number;
  readonly settleMs: number;
  readonly stepMs: number;
  /**
   * Where step 1 begins. Rate steps: after the ramp-up, in which the whole audience joins while the
   * room is silent (a join storm inside step 1 broke it on the generator, not the server: handshakes
   * and reads together); viewer steps: at 0, each step's joins being what it measures.
   */
  readonly stepsFromMs: number;
  /** A stepped plan whose steps raise the chatters' rate over a fixed audience (profile.stepBy 'rate'). */
  readonly stepsByRate: boolean;
  readonly endMs: number;
  readonly storms: { atMs: number; leave: number }[];

  constructor(profile: Profile, layout: RoomLayout = new Layout(profile)) {
    this.profile = profile;
    this.layout = layout;
    this.durationMs = parseDurationMs(profile.duration);
    this.rampUpMs = parseDurationMs(profile.rampUp);
    this.drainMs = parseDurationMs(profile.drain);
    this.settleMs = parseDurationMs(profile.settle);
    this.stepsFromMs = profile.steps > 0 && profile.stepBy === 'rate' ? this.rampUpMs : 0;
    this.stepMs = profile.steps > 0 ? (this.durationMs - this.stepsFromMs) / profile.steps : 0;
    this.stepsByRate = this.stepMs > 0 && profile.stepBy === 'rate';
    this.endMs = this.durationMs + this.drainMs;
    this.storms = profile.churn.storms
      .map((s) => ({ atMs: parseDurationMs(s.at), leave: s.leave }))
      .filter((s) => s.atMs < this.durationMs)
      .sort((a, b) => a.atMs - b.atMs);
  }

  /** How many viewers (by index, from 0) should be connected at `ms` into the run. */
  targetAt(ms: number): number {
    const v = this.profile.viewers;
    if (ms >= this.endMs) return 0;
    if (this.stepsByRate) return v;
    if (this.stepMs > 0) return Math.ceil((v * (Math.min(this.stepAt(ms), this.profile.steps - 1) + 1)) / this.profile.steps);
    if (this.rampUpMs <= 0 || ms >= this.rampUpMs) return v;
    // The chatters and moderators come first: the audience grows around rooms that are already talking.
    const floor = Math.min(v, this.layout.chatters + this.layout.moderators);
    return Math.max(floor, Math.ceil((v * Math.max(0, ms)) / this.rampUpMs));
  }

  /**
   * Messages per second each chatter sends at `ms`: the profile's rate, or with rate steps
   * rate × k / N in step k of N and nothing while the audience joins. Nobody sends after the load
   * phase.
   */
  rateAt(ms: number): number {
    if (ms >= this.durationMs) return 0;
    if (this.stepsByRate) return (this.profile.rate * (this.stepAt(ms) + 1)) / this.profile.steps;
    return this.profile.rate;
  }

  /** The message rate one room is offered in a step (0-based), what the steps table shows beside its viewers. */
  stepRoomRate(step: number): number {
    return this.profile.chattersPerRoom * this.rateAt(this.stepsFromMs + step * this.stepMs);
  }

  /** The step (0-based) at `ms`, or -1: not a stepped run, or rate steps' join before step 1. */
  stepAt(ms: number): number {
    if (this.stepMs <= 0) return -1;
    if (this.stepsFromMs > 0 && ms < this.stepsFromMs) return -1;
    return Math.min(this.profile.steps - 1, Math.max(0, Math.floor((ms - this.stepsFromMs) / this.stepMs)));
  }

  phaseAt(ms: number): Phase {
    if (ms >= this.endMs) return 'done';
    if (ms >= this.durationMs) return 'drain';
    if ((this.stepMs === 0 || this.stepsFromMs > 0) && ms < this.rampUpMs) return 'ramp';
    return 'steady';
  }

  /** Messages per second one room will see from its chatters (at the top step when the rate steps). */
  roomMessageRate(): number {
    return this.profile.chattersPerRoom * this.profile.rate;
  }

  /** What to ask CreateRoom for: room-wide, with headroom so jittered sends are never refused. */
  roomRateLimit(cap: number): number {
    return Math.min(cap, Math.max(10, Math.ceil(this.roomMessageRate() * 2)));
  }
}
