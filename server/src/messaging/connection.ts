import type { WebSocket } from 'uWebSockets.js';
import type { CloseReason } from '../metrics.ts';
import type { LiveRoom } from '../rooms/live-rooms.ts';

/**
 * Per-socket state, kept in the uWS user data: set once at the handshake, small, and shared
 * structure (the room) by reference. Nothing here is touched when a frame fans out.
 */
export interface Connection {
  readonly room: LiveRoom;
  readonly userId: string;
  /** Bitmask of tokens/capabilities.ts. */
  readonly capabilities: number;
  readonly senderAttributes: Record<string, string> | undefined;
  /** The Sender object of this connection's MESSAGE frames, serialized once. */
  readonly sender: string;
  readonly sessionExpiresAt: number;
  readonly ip: string;
  /** Set before the server closes the socket so the close handler can label why. */
  closeReason: CloseReason | undefined;
  /** False once the socket closed: async work (review, store) must not touch it then. */
  open: boolean;
  /** Set by the backpressure monitor when the send buffer was filling at its last sample. */
  congested: boolean;
}

export type ChatSocket = WebSocket<Connection>;

/** Close codes the server uses. 1000 is what the SDK treats as a server disconnect (no reconnect). */
export const CLOSE = {
  normal: 1000,
  goingAway: 1001,
} as const;

export function closeSocket(ws: ChatSocket, code: number, message: string, reason: CloseReason): void {
  const connection = ws.getUserData();
  if (!connection.open) return;
  connection.closeReason = reason;
  ws.end(code, message);
}
