import { DELETE_MESSAGE_EVENT, DISCONNECT_USER_EVENT } from '../codec.ts';
import { seededRandom } from '../seeded-random.ts';
import { anonymiseAttributes, codePoints, randomText, utf8Length } from './anonymise.ts';
import type { ParsedLog, RecordedMessage } from './replay-log.ts';

// Turns a parsed log and the replay options into a script: who sends what, when, and which
// moderation and events follow. Plain data (structured-clone and JSON safe) and a pure function of
// its inputs, so the main thread, every worker and every k6 VU derive the same script from the same
// log without talking to each other.
//
// Viewers are numbered: recorded senders first (room by room, each room's in order of their first
// message), then one moderator per room that has moderation or events to replay, then the
// audience, interleaved across rooms so a ramp fills every room at once.

export const MAX_CONTENT_CODE_POINTS = 500;
/** The server's attribute budget (1 KB, keys and values in UTF-8) less what the harness adds (t, s, n). */
export const RECORDED_ATTRIBUTE_BYTES = 1024 - 48;
/** The harness's own attributes; a recorded key of the same name would overwrite them. */
const HARNESS_KEYS = new Set(['t', 's', 'n']);
const DEFAULT_VIEWERS_PER_ROOM = 10;

export interface ReplayOptions {
  /** Recorded times are divided by this. */
  speed: number;
  /** Send the recorded text; otherwise random text of the same shape. */
  keepContent: boolean;
  /** Audience across all rooms, split in proportion to each room's recorded senders... */
  viewers?: number;
  /** ...or this many in every room (wins over `viewers`). */
  viewersPerRoom?: number;
  /** Run time before the first recorded moment, for the audience to connect. */
  leadInMs: number;
}

export interface ReplayRoom {
  name: string;
  firstSender: number;
  senders: number;
  audience: number;
  /** Viewer index of the room's moderator, or -1 when nothing needs one. */
  moderator: number;
  messages: number;
  events: number;
  /** Busiest second of the scaled schedule. */
  peakPerSecond: number;
}

export type ReplayActionKind = 'delete_message' | 'disconnect_user' | 'event';

export interface ReplayAction {
  /** Run time (ms from t = 0 of the load phase). */
  at: number;
  room: number;
  kind: ReplayActionKind;
  via: 'websocket' | 'http';
  /** delete_message: the replayed message (sender viewer index, its seq from 1). */
  sender: number;
  seq: number;
  /** disconnect_user: the viewer to disconnect, or -1 (someone recorded who is not in the replay: `userId`). */
  viewer: number;
  userId: string;
  reason: string;
  eventName: string;
  attributes: Record<string, string>;
}

export interface ReplayStats {
  recordedMessages: number;
  recordedEvents: number;
  /** Content over maximumMessageLength, cut to it. */
  contentTrimmed: number;
  /** Messages whose attributes were cut to fit the 1 KB budget beside the harness's own. */
  attributesTrimmed: number;
  /** Recorded attribute keys t, s, n (the harness's own) left out. */
  keysDropped: number;
  /** aws:DELETE_MESSAGE naming a message that is not in the log. */
  unmatchedDeletes: number;
  /** Other aws:* events: raised by the service itself, nothing to replay. */
  skippedEvents: number;
}

export interface ReplayScript {
  speed: number;
  keepContent: boolean;
  leadInMs: number;
  /** The recorded span, scaled. */
  spanMs: number;
  /** Recorded epoch ms of the first record. */
  recordedStart: number;
  rooms: ReplayRoom[];
  senders: number;
  moderators: number;
  audience: number;
  /** Per viewer index below `senders`: its room and slot in the room. */
  senderRoom: number[];
  senderSlot: number[];
  /** Sender g's messages are [sendStart[g], sendStart[g + 1]) of the arrays below, in send order. */
  sendStart: number[];
  /** Run time of each send. */
  sendAt: number[];
  /** Content as a JSON string literal (quotes included), ready to splice into the frame. */
  contentJson: string[];
  /** Recorded attributes as `,"k":"v"…`, ready to splice after the harness's own. */
  attributesJson: string[];
  /** Room of each audience position. */
  audienceRoom: number[];
  actions: ReplayAction[];
  stats: ReplayStats;
}

function hash(text: string): number {
  let h = 2166136261;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619);
  return h >>> 0;
}

function fitAttributes(attributes: Record<string, string>, stats: ReplayStats): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(attributes)) {
    if (HARNESS_KEYS.has(key)) stats.keysDropped++;
    else out[key] = attributes[key]!;
  }
  let bytes = 0;
  for (const key of Object.keys(out)) bytes += utf8Length(key) + utf8Length(out[key]!);
  if (bytes <= RECORDED_ATTRIBUTE_BYTES) return out;
  stats.attributesTrimmed++;
  // Longest values give way first, by whole code points, until the map fits.
  while (bytes > RECORDED_ATTRIBUTE_BYTES) {
    let longest = '';
    for (const key of Object.keys(out)) if (longest === '' || utf8Length(out[key]!) > utf8Length(out[longest]!)) longest = key;
    const value = out[longest]!;
    if (value === '') {
      bytes -= utf8Length(longest);
      delete out[longest];
      continue;
    }
    const points = codePoints(value);
    const cut = points.slice(0, Math.floor(points.length / 2)).join('');
    bytes -= utf8Length(value) - utf8Length(cut);
    out[longest] = cut;
  }
  return out;
}

function attributesFragment(attributes: Record<string, string>): string {
  let out = '';
  for (const key of Object.keys(attributes)) out += `,${JSON.stringify(key)}:${JSON.stringify(attributes[key])}`;
  return out;
}

function peakPerSecond(times: number[]): number {
  let peak = 0;
  let lo = 0;
  for (let hi = 0; hi < times.length; hi++) {
    while (times[hi]! - times[lo]! >= 1000) lo++;
    peak = Math.max(peak, hi - lo + 1);
  }
  return peak;
}

function audienceSizes(log: ParsedLog, senders: number[], o: ReplayOptions): number[] {
  if (o.viewersPerRoom !== undefined || o.viewers === undefined) return log.rooms.map(() => o.viewersPerRoom ?? DEFAULT_VIEWERS_PER_ROOM);
  // Largest remainder, by recorded senders (a room with more people talking has more watching).
  const weights = senders.map((s) => Math.max(1, s));
  const total = weights.reduce((a, b) => a + b, 0);
  const exact = weights.map((w) => (o.viewers! * w) / total);
  const sizes = exact.map(Math.floor);
  let left = o.viewers - sizes.reduce((a, b) => a + b, 0);
  const order = exact.map((x, r) => [x - Math.floor(x), r] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (let k = 0; left > 0; k = (k + 1) % order.length, left--) sizes[order[k]![1]]!++;
  return sizes;
}

export function buildReplayScript(log: ParsedLog, o: ReplayOptions): ReplayScript {
  if (!(o.speed > 0)) throw new Error(`replay speed must be above 0, got ${o.speed}`);
  const stats: ReplayStats = {
    recordedMessages: 0,
    recordedEvents: 0,
    contentTrimmed: 0,
    attributesTrimmed: 0,
    keysDropped: 0,
    unmatchedDeletes: 0,
    skippedEvents: 0,
  };
  let recordedStart = Number.POSITIVE_INFINITY;
  let recordedEnd = Number.NEGATIVE_INFINITY;
  for (const room of log.rooms) {
    for (const x of [...room.messages, ...room.events]) {
      recordedStart = Math.min(recordedStart, x.at);
      recordedEnd = Math.max(recordedEnd, x.at);
    }
  }
  const runTime = (at: number) => o.leadInMs + (at - recordedStart) / o.speed;

  // Senders, room by room, each room's in order of first message.
  const roomSenders: string[][] = log.rooms.map((room) => {
    const seen: string[] = [];
    const known = new Set<string>();
    for (const m of room.messages) if (!known.has(m.senderId)) known.add(m.senderId), seen.push(m.senderId);
    return seen;
  });
  const senderCount = roomSenders.reduce((a, s) => a + s.length, 0);
  const senderRoom: number[] = [];
  const senderSlot: number[] = [];
  const firstSender: number[] = [];
  const senderIndex = log.rooms.map(() => new Map<string, number>());
  roomSenders.forEach((ids, r) => {
    firstSender.push(senderRoom.length);
    ids.forEach((id, slot) => {
      senderIndex[r]!.set(id, senderRoom.length);
      senderRoom.push(r);
      senderSlot.push(slot);
    });
  });

  // Each sender's messages in recorded order; seq k (from 1) is its k-th.
  const bySender: RecordedMessage[][] = Array.from({ length: senderCount }, () => []);
  const seqOf = log.rooms.map(() => new Map<string, [number, number]>());
  log.rooms.forEach((room, r) => {
    for (const m of room.messages) {
      const g = senderIndex[r]!.get(m.senderId)!;
      bySender[g]!.push(m);
      seqOf[r]!.set(m.id, [g, bySender[g]!.length]);
    }
  });
  const sendStart: number[] = [0];
  const sendAt: number[] = [];
  const contentJson: string[] = [];
  const attributesJson: string[] = [];
  bySender.forEach((messages, g) => {
    for (const m of messages) {
      // Seeded per message, so the same log and options give the same text everywhere.
      const random = seededRandom(hash(`${senderRoom[g]}:${m.id}:${m.line}`));
      let points = codePoints(m.content);
      if (points.length > MAX_CONTENT_CODE_POINTS) {
        stats.contentTrimmed++;
        points = points.slice(0, MAX_CONTENT_CODE_POINTS);
      }
      let content = points.join('');
      if (content === '') content = ' '; // the server refuses empty Content
      if (!o.keepContent) content = randomText(content, random);
      const attributes = fitAttributes(o.keepContent ? m.attributes : anonymiseAttributes(m.attributes, random), stats);
      sendAt.push(runTime(m.at));
      contentJson.push(JSON.stringify(content));
      attributesJson.push(attributesFragment(attributes));
      stats.recordedMessages++;
    }
    sendStart.push(sendAt.length);
  });

  const audience = audienceSizes(
    log,
    roomSenders.map((s) => s.length),
    o,
  );
  const audienceRoom: number[] = [];
  const placed = audience.map(() => 0);
  for (let more = true; more; ) {
    more = false;
    for (let r = 0; r < audience.length; r++) {
      if (placed[r]! < audience[r]!) {
        audienceRoom.push(r);
        placed[r]!++;
        more = true;
      }
    }
  }

  // Moderation and events.
  const actions: ReplayAction[] = [];
  const needsModerator = log.rooms.map(() => false);
  const base = { sender: -1, seq: 0, viewer: -1, userId: '', reason: '', eventName: '', attributes: {} as Record<string, string> };
  const textOf = (text: string, seed: string) => (o.keepContent ? text : randomText(text, seededRandom(hash(seed))));
  log.rooms.forEach((room, r) => {
    for (const e of room.events) {
      stats.recordedEvents++;
      const via = e.requestId === '' ? 'http' : 'websocket';
      const at = runTime(e.at);
      const reason = e.attributes.Reason ? textOf(e.attributes.Reason.slice(0, 256), `${r}:${e.id}:reason`) : '';
      if (e.eventName === DELETE_MESSAGE_EVENT) {
        const target = seqOf[r]!.get(e.attributes.MessageId ?? e.attributes.MessageID ?? '');
        if (!target) {
          stats.unmatchedDeletes++;
          continue;
        }
        actions.push({ ...base, at, room: r, kind: 'delete_message', via, sender: target[0], seq: target[1], reason });
      } else if (e.eventName === DISCONNECT_USER_EVENT) {
        const userId = e.attributes.UserId ?? '';
        let viewer = senderIndex[r]!.get(userId) ?? -1;
        if (viewer < 0 && audience[r]! > 0) {
          // Someone who only watched: the same audience member every time for the same recorded user.
          let k = hash(userId) % audience[r]!;
          for (let p = 0; p < audienceRoom.length; p++) {
            if (audienceRoom[p] === r && k-- === 0) {
              viewer = -(p + 2); // resolved to a viewer index once the moderator count is known
              break;
            }
          }
        }
        actions.push({ ...base, at, room: r, kind: 'disconnect_user', via, viewer, userId: viewer === -1 ? `replay-absent-${hash(userId)}` : '', reason });
      } else if (e.eventName.startsWith('aws:')) {
        stats.skippedEvents++;
        continue;
      } else {
        const attributes = o.keepContent ? e.attributes : anonymiseAttributes(e.attributes, seededRandom(hash(`${r}:${e.id}`)));
        actions.push({ ...base, at, room: r, kind: 'event', via: 'http', eventName: e.eventName, attributes });
      }
      needsModerator[r] = true;
    }
  });
  let moderators = 0;
  const moderatorOf = needsModerator.map((needed) => (needed ? senderCount + moderators++ : -1));
  for (const a of actions) if (a.viewer < -1) a.viewer = senderCount + moderators + (-a.viewer - 2);
  actions.sort((a, b) => a.at - b.at);

  const rooms: ReplayRoom[] = log.rooms.map((room, r) => {
    const times: number[] = [];
    for (let g = firstSender[r]!; g < firstSender[r]! + roomSenders[r]!.length; g++) {
      for (let k = sendStart[g]!; k < sendStart[g + 1]!; k++) times.push(sendAt[k]!);
    }
    times.sort((a, b) => a - b);
    return {
      name: room.name,
      firstSender: firstSender[r]!,
      senders: roomSenders[r]!.length,
      audience: audience[r]!,
      moderator: moderatorOf[r]!,
      messages: room.messages.length,
      events: room.events.length,
      peakPerSecond: peakPerSecond(times),
    };
  });

  return {
    speed: o.speed,
    keepContent: o.keepContent,
    leadInMs: o.leadInMs,
    spanMs: Number.isFinite(recordedStart) ? (recordedEnd - recordedStart) / o.speed : 0,
    recordedStart: Number.isFinite(recordedStart) ? recordedStart : 0,
    rooms,
    senders: senderCount,
    moderators,
    audience: audienceRoom.length,
    senderRoom,
    senderSlot,
    sendStart,
    sendAt,
    contentJson,
    attributesJson,
    audienceRoom,
    actions,
    stats,
  };
}

/** The run time of sender g's message `seq` (from 1). */
export function scheduledAt(script: ReplayScript, sender: number, seq: number): number {
  return script.sendAt[script.sendStart[sender]! + seq - 1]!;
}

export function messagesOf(script: ReplayScript, sender: number): number {
  return script.sendStart[sender + 1]! - script.sendStart[sender]!;
}
