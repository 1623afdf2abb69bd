import { parseDurationMs } from './duration.ts';

// A load profile is plain data: the same object drives the Node runner and the k6 scripts.
// Durations are k6-style strings; rates are per second.

export interface ReconnectPolicy {
  /** Rejoin after aws:DISCONNECT_USER named this viewer (the SDK itself would not). */
  afterDisconnectUser: boolean;
  /** Rejoin after ERROR 401 (session expired), as the official SDK does. */
  afterSessionExpiry: boolean;
  /** Rejoin after any other close by the server (1000/1001 without a reason we know). */
  afterServerClose: boolean;
  /** Rejoin after a failed connect or an abnormal close, with backoff. */
  afterError: boolean;
  delay: string;
}

export interface ChurnPolicy {
  /** Share of connected viewers that leave each second (and rejoin after rejoinDelay). */
  leavePerSecond: number;
  rejoinDelay: string;
  /** Join/leave storms: at `at`, this share of connected viewers leaves at once and rejoins. */
  storms: { at: string; leave: number }[];
}

export interface ModerationPolicy {
  /** Per room, per second. */
  deleteMessagePerSecond: number;
  disconnectUserPerSecond: number;
  /** Share of actions sent through the HTTP API (DeleteMessage, DisconnectUser); the rest go over the moderator's WebSocket. */
  httpShare: number;
}

export interface CapacityPolicy {
  /** A step breaks when its delivery p99 exceeds this... */
  p99: string;
  /** ...or when its loss ratio exceeds this (0 = any missing message). */
  loss: number;
  stopOnBreak: boolean;
}

/** Replays a recorded chat log (IVS Chat logging records) as the load: see scenarios/README.md. */
export interface ReplayPolicy {
  /** A file, a directory of files, .gz S3 objects or a CloudWatch Logs export. */
  path: string;
  /** Recorded times are divided by this (10 = ten times faster). */
  speed: number;
  /** Send the recorded text and attribute values; by default random text of the same shape. */
  keepContent?: boolean;
  /** Audience (viewers who only read) across all rooms, split by each room's recorded senders... */
  viewers?: number;
  /** ...or this many in every room. Default 10 per room. */
  viewersPerRoom?: number;
  /** The room a single file belongs to, when its name does not say. */
  room?: string;
}

/** Soak runs (soak-verdict.ts): how the server is sampled and when a slope fails the run. */
export interface SoakPolicy {
  /** Samples before this (from the load start) are not judged; default: the ramp-up plus a fifth of the rest. */
  warmup?: string;
  /** Server /metrics sample period; default: duration / 100, between 1 s and 5 s. */
  samplePeriod?: string;
  /** How often the partial result is written while the soak runs [1m]. */
  checkpointEvery?: string;
  /** Per minute, by series (soak-verdict.ts SOAK_LIMITS): overrides its default limit. */
  limits?: Partial<Record<string, number>>;
}

export type StepBy = 'viewers' | 'rate';

export interface Profile {
  name: string;
  description: string;
  /** The load phase: ramp, steps, sends, churn and moderation all happen inside it. */
  duration: string;
  rampUp: string;
  /** 0: linear ramp over rampUp. N: N equal steps over the duration (capacity search). */
  steps: number;
  /**
   * What the steps raise. 'viewers': step k of N admits k/N of the audience, at `rate`.
   * 'rate': the whole audience joins in the ramp-up (the room silent, no step judged), then the
   * rest of the duration is N steps, step k running every chatter at rate × k/N, so `rate` is the
   * top step's (a fixed audience batches several frames per socket read as the
   * room talks faster, which keeps the generator cheaper per delivery than the server).
   */
  stepBy: StepBy;
  /** After the load phase, viewers stay connected this long so in-flight messages can arrive. */
  drain: string;
  viewers: number;
  rooms: number;
  /** Share of the non-chatting viewers placed in room 0 (a hot room); 0 spreads them evenly. */
  hotRoomShare: number;
  chattersPerRoom: number;
  /** Messages per second per chatter. */
  rate: number;
  messageBytes: number;
  /** New connections per second across the whole run (token-rate pressure); 0 = as fast as possible. */
  connectRate: number;
  sessionDurationMinutes: number;
  reconnect: ReconnectPolicy;
  churn: ChurnPolicy;
  moderation: ModerationPolicy;
  capacity: CapacityPolicy;
  /** Accounting grace: a receiver must stay connected this long past a message's ack for the message to count as expected. */
  settle: string;
  /** Expressions such as "p99 < 50ms", "loss == 0", "errors < 0.1%". */
  thresholds: string[];
  replay?: ReplayPolicy;
  /** Present: the run is judged as a soak (slopes, zero loss) and checkpoints its partial result. */
  soak?: SoakPolicy;
}

type DeepPartial<T> = { [K in keyof T]?: T[K] extends (infer U)[] ? U[] : T[K] extends object ? DeepPartial<T[K]> : T[K] };
export type ProfileInput = DeepPartial<Profile> & { name: string; description: string };

export const PROFILE_DEFAULTS: Omit<Profile, 'name' | 'description'> = {
  duration: '30s',
  rampUp: '10s',
  steps: 0,
  stepBy: 'viewers',
  drain: '3s',
  viewers: 100,
  rooms: 1,
  hotRoomShare: 0,
  chattersPerRoom: 2,
  rate: 1,
  messageBytes: 64,
  connectRate: 0,
  sessionDurationMinutes: 60,
  reconnect: {
    afterDisconnectUser: false,
    afterSessionExpiry: true,
    afterServerClose: false,
    afterError: true,
    delay: '1s',
  },
  churn: { leavePerSecond: 0, rejoinDelay: '1s', storms: [] },
  moderation: { deleteMessagePerSecond: 0, disconnectUserPerSecond: 0, httpShare: 0.5 },
  capacity: { p99: '250ms', loss: 0, stopOnBreak: true },
  settle: '1s',
  thresholds: ['loss == 0'],
};

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function merge<T>(base: T, over: unknown): T {
  if (!isObject(base) || !isObject(over)) return (over === undefined ? base : over) as T;
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (value !== undefined) out[key] = merge((base as Record<string, unknown>)[key], value);
  }
  return out as T;
}

export function resolveProfile(input: ProfileInput, overrides: Record<string, unknown> = {}): Profile {
  const profile = merge(merge({ ...PROFILE_DEFAULTS, name: input.name, description: input.description }, input), overrides) as Profile;
  // A shortened run keeps its shape: the ramp never takes more than half of the load phase.
  const durationMs = parseDurationMs(profile.duration);
  if (parseDurationMs(profile.rampUp) > durationMs / 2) profile.rampUp = `${Math.floor(durationMs / 2)}ms`;
  return profile;
}

/** `path` is dotted (`churn.leavePerSecond`); the value is parsed as JSON when it looks like JSON. */
export function setField(overrides: Record<string, unknown>, path: string, raw: string): void {
  let value: unknown = raw;
  if (/^(-?\d+(\.\d+)?|true|false|null|\[[\s\S]*\]|\{[\s\S]*\})$/.test(raw.trim())) value = JSON.parse(raw);
  const keys = path.split('.');
  let node = overrides;
  for (const key of keys.slice(0, -1)) {
    if (!isObject(node[key])) node[key] = {};
    node = node[key] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}
