import type { LoggingConfiguration, Room } from '../rooms/room.ts';

/**
 * Everything the control plane persists, behind one narrow async interface so that a Redis
 * implementation can serve many nodes. Callers never assume the state lives in this process:
 * every read goes through here, and records returned are copies the caller may keep.
 */
export interface Store {
  getRoom(id: string): Promise<Room | undefined>;
  listRooms(): Promise<Room[]>;
  countRooms(): Promise<number>;
  putRoom(room: Room): Promise<void>;
  /**
   * Read-modify-write of one room, safe against concurrent writers on this node and on others:
   * `change` gets the current room (a copy it may modify) and returns the new one; when another
   * write landed between the read and this one, `change` runs again on the newer room, so two
   * concurrent TagResource calls both keep their tags. Resolves undefined when there is no such
   * room (or it was deleted meanwhile). What `change` throws, this rejects with, writing nothing.
   */
  updateRoom(id: string, change: (room: Room) => Room): Promise<Room | undefined>;
  /** Resolves false when there was no such room. */
  deleteRoom(id: string): Promise<boolean>;

  getLoggingConfiguration(id: string): Promise<LoggingConfiguration | undefined>;
  listLoggingConfigurations(): Promise<LoggingConfiguration[]>;
  putLoggingConfiguration(configuration: LoggingConfiguration): Promise<void>;
  /** As updateRoom. */
  updateLoggingConfiguration(id: string, change: (configuration: LoggingConfiguration) => LoggingConfiguration): Promise<LoggingConfiguration | undefined>;
  deleteLoggingConfiguration(id: string): Promise<boolean>;

  /**
   * Records a chat token as used. Resolves true the first time a token id is seen, false after:
   * "each token is only accepted once". The record may be forgotten after expiresAt (ms epoch),
   * when the token would be refused as expired anyway. A store that can answer at once (the
   * embedded one) returns the boolean itself, so that a handshake needs no promise.
   */
  consumeToken(tokenId: string, expiresAt: number): boolean | Promise<boolean>;

  /** Makes every acknowledged write durable and releases files or connections. */
  close(): Promise<void>;
}
