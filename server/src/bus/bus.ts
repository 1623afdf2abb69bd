import type { FrameType } from '../metrics.ts';

/**
 * The message bus: carries room-addressed frames and control events between the nodes of one
 * service (Centrifuge's Broker). It never touches a socket: each node's LocalHub applies what
 * arrives to that node's connections (Centrifuge's Hub). The embedded bus is a bus with one node.
 *
 * Calls on one room made on one node reach every node in the order they were made, control
 * events included: a DISCONNECT_USER frame arrives before the closes it announces.
 */
export interface Bus {
  /**
   * Delivers a ready-made frame to every connection in the room on every node, the sender's
   * included. Undefined when it is done already (the embedded bus: no promise per message).
   */
  publish(roomId: string, frame: string, type: FrameType): Promise<void> | undefined;
  /** Closes every connection of userId in the room with 1000, on every node. */
  disconnectUser(roomId: string, userId: string): Promise<void>;
  /** Closes every connection of the room on every node: it was deleted. */
  closeRoom(roomId: string): Promise<void>;
  /** The room's settings changed (UpdateRoom, a logging configuration it uses): every node reloads them. */
  roomChanged(roomId: string): Promise<void>;
  /**
   * A connection to the room is about to open on this node. Undefined when there is nothing to wait
   * for (the embedded bus: no extra await on its handshake); otherwise resolves once frames
   * published elsewhere reach this node and the room's live settings are current (they may have
   * changed while this node was not listening). Never rejects: with the bus away the connection
   * is served locally and the room is listened to once the bus is back.
   */
  subscribe(roomId: string): Promise<void> | undefined;
  /** A connection announced by subscribe() is gone (closed, or its handshake failed). */
  unsubscribe(roomId: string): void;
  close(): Promise<void>;
}

/**
 * The bus could not carry a publish to the other nodes (Redis unreachable). What it carried was
 * applied on this node; the request fails with a 500 saying so, and the failure is counted.
 */
export class BusUnavailableError extends Error {
  override name = 'BusUnavailableError';
  constructor(cause: unknown) {
    super('Applied on this node only: the message bus to the other nodes is unavailable', { cause });
  }
}
