import type { FrameType } from '../metrics.ts';

/**
 * How frames and room-wide actions reach every connection of a room. The embedded implementation
 * delivers in this process; a Redis backplane implements the same calls across nodes, each node
 * then applying them to its own connections (see local-fanout.ts for what "apply" means).
 * Calls on one room are delivered in the order they were made.
 */
export interface Fanout {
  /** Delivers a ready-made frame to every connection in the room, the sender's included. */
  publish(roomId: string, frame: string, type: FrameType): Promise<void>;
  /** Closes every connection of userId in the room with 1000 (after frames published before it). */
  disconnectUser(roomId: string, userId: string): Promise<void>;
  /** Closes every connection of the room: it was deleted. */
  closeRoom(roomId: string): Promise<void>;
  /** The room's settings changed (UpdateRoom, a logging configuration it uses): reload them. */
  roomChanged(roomId: string): Promise<void>;
  close(): Promise<void>;
}
