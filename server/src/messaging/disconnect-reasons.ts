import type { WebSocket } from 'uWebSockets.js';

/**
 * Every way a chat connection ends, in one closed table: the close code and reason text the client
 * sees, what the server does to end it, and (the key) the `reason` label of
 * chatstorm_connections_closed_total. Call sites name a reason; nothing else spells out a code or
 * a text. The README's "Close codes" table is this one, with what each means for a client.
 *
 * How a reason ends the connection:
 * - 'close': the server sends a close frame with `code` and `message` (uWS end()). The official
 *   SDK treats any clean close as the server's decision and does not reconnect.
 * - 'drop': the server drops the TCP connection without a close frame (uWS close()); the client
 *   sees 1006 and the SDK reconnects with a fresh token. Used where a close frame would never
 *   arrive (it would queue behind the very bytes the client is not reading).
 * - 'observed': the server did not choose it; the close handler recognises it (observedReason).
 */
export const DISCONNECT_REASONS = {
  session_expired: { how: 'close', code: 1000, message: 'Session expired' },
  disconnect_user: { how: 'close', code: 1000, message: 'Disconnected by moderator' },
  room_deleted: { how: 'close', code: 1000, message: 'Room deleted' },
  shutdown: { how: 'close', code: 1001, message: 'Server shutting down' },
  // The backpressure monitor's policy (backpressure-monitor.ts).
  slow_consumer: { how: 'drop', code: 1006, message: '' },
  // A frame over MAX_FRAME_BYTES: uWS drops the sender without reading it.
  message_too_big: { how: 'observed', code: 1006, message: '' },
  // The client's own code (1000, 1001 or 1005).
  client_close: { how: 'observed', code: undefined, message: '' },
  // Network failure, idle timeout, or any other code.
  abnormal: { how: 'observed', code: 1006, message: '' },
} as const satisfies Record<string, { how: 'close' | 'drop' | 'observed'; code: number | undefined; message: string }>;

export type DisconnectReason = keyof typeof DISCONNECT_REASONS;

/** The closed label set of chatstorm_connections_closed_total. */
export const DISCONNECT_REASON_LABELS = Object.keys(DISCONNECT_REASONS) as DisconnectReason[];

/** The reasons the server itself acts on; the others it only recognises. */
export type ServerDisconnectReason = {
  [R in DisconnectReason]: (typeof DISCONNECT_REASONS)[R]['how'] extends 'observed' ? never : R;
}[DisconnectReason];

/** What disconnect() needs of a socket's user data, so this module does not depend on the connection's shape. */
export interface Disconnectable {
  open: boolean;
  closeReason: DisconnectReason | undefined;
}

/**
 * Ends a connection for one of the server's reasons, once: a socket already closed is left alone.
 * The reason is recorded first so the close handler, which uWS calls synchronously from end() or
 * close(), labels it.
 */
export function disconnect(ws: WebSocket<Disconnectable>, reason: ServerDisconnectReason): void {
  const connection = ws.getUserData();
  if (!connection.open || connection.closeReason !== undefined) return;
  connection.closeReason = reason;
  const entry = DISCONNECT_REASONS[reason];
  if (entry.how === 'drop') ws.close();
  else ws.end(entry.code, entry.message);
}

const TOO_BIG = 'Received too big message';

/**
 * Why a socket closed that the server did not close itself. uWS drops a slow consumer (past its
 * maxBackpressure, between two samples of the monitor) and a sender of an over-long frame without
 * a close handshake: both are code 1006, told apart by uWS's message and by whether the
 * backpressure monitor found the socket congested at its last sample.
 */
export function observedReason(code: number, message: ArrayBuffer, congested: boolean): DisconnectReason {
  if (code === 1000 || code === 1001 || code === 1005) return 'client_close';
  if (code === 1006 && message.byteLength > 0 && Buffer.from(message).toString() === TOO_BIG) return 'message_too_big';
  if (code === 1006 && congested) return 'slow_consumer';
  return 'abnormal';
}
