import type { WebSocket } from 'uWebSockets.js';
import type { LiveRoom } from '../rooms/live-rooms.ts';
import type { DisconnectReason } from './disconnect-reasons.ts';

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
  closeReason: DisconnectReason | undefined;
  /** False once the socket closed: async work (review, store) must not touch it then. */
  open: boolean;
  /** Set by the backpressure monitor when the send buffer was filling at its last sample. */
  congested: boolean;
  /** performance.now() of the first sample that found the send buffer behind (backpressure-monitor.ts), 0 when it is not. */
  behindSince: number;
}

export type ChatSocket = WebSocket<Connection>;
