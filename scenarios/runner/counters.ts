import type { ConnectOutcome, DisconnectReason, ModerationAction, ModerationVia } from '../lib/results.ts';

// Plain counts a worker accumulates between reports; the main thread adds them up.

export interface Counters {
  connects: Record<ConnectOutcome, number>;
  disconnects: Record<DisconnectReason, number>;
  sent: number;
  acked: number;
  /** MESSAGE frames from other viewers, duplicates included. */
  frames: number;
  duplicated: number;
  outOfOrder: number;
  /** Counting receive mode: MESSAGE frames counted from the framing (in `frames` too), their bytes, and how many of them were decoded. */
  counted: number;
  countedBytes: number;
  decoded: number;
  /** Bytes read from the sockets (every frame with its header): turns the generator's unread bytes into ms (receive-backlog.ts). */
  bytesRead: number;
  /** ERROR frames by ErrorCode. */
  errors: Record<string, number>;
  /** Failed control-plane calls by "<Operation> <status>". */
  apiErrors: Record<string, number>;
  moderation: Record<ModerationAction, Record<ModerationVia, number>>;
  moderationEvents: Record<ModerationAction, number>;
}

export function newCounters(): Counters {
  return {
    connects: { ok: 0, refused: 0, error: 0 },
    disconnects: { client: 0, server: 0, moderation: 0, session_expired: 0, error: 0 },
    sent: 0,
    acked: 0,
    frames: 0,
    duplicated: 0,
    outOfOrder: 0,
    counted: 0,
    countedBytes: 0,
    decoded: 0,
    bytesRead: 0,
    errors: {},
    apiErrors: {},
    moderation: { delete_message: { websocket: 0, http: 0 }, disconnect_user: { websocket: 0, http: 0 } },
    moderationEvents: { delete_message: 0, disconnect_user: 0 },
  };
}

function addRecord(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, n] of Object.entries(from)) into[k] = (into[k] ?? 0) + n;
}

export function addCounters(into: Counters, from: Counters): void {
  addRecord(into.connects, from.connects);
  addRecord(into.disconnects, from.disconnects);
  into.sent += from.sent;
  into.acked += from.acked;
  into.frames += from.frames;
  into.duplicated += from.duplicated;
  into.outOfOrder += from.outOfOrder;
  into.counted += from.counted;
  into.countedBytes += from.countedBytes;
  into.decoded += from.decoded;
  into.bytesRead += from.bytesRead;
  addRecord(into.errors, from.errors);
  addRecord(into.apiErrors, from.apiErrors);
  addRecord(into.moderation.delete_message, from.moderation.delete_message);
  addRecord(into.moderation.disconnect_user, from.moderation.disconnect_user);
  addRecord(into.moderationEvents, from.moderationEvents);
}
