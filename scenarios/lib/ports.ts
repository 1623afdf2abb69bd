import type { ConnectionSummary } from './receive-tracker.ts';
import type { ConnectOutcome, DisconnectReason, ModerationAction, ModerationVia } from './results.ts';

// The three small interfaces the viewer behaviour is written against (plus the control plane and
// the loss ledger). scenarios/runner implements them with ws, Node timers and prom-client;
// scenarios/k6 with k6/websockets, k6 timers and k6/metrics.

export interface Clock {
  /** Epoch milliseconds with sub-millisecond precision, comparable across threads of one machine. */
  now(): number;
}

export interface Ticker {
  every(ms: number, fn: () => void): unknown;
  cancel(handle: unknown): void;
}

export interface SocketEvents {
  onOpen(): void;
  onMessage(data: string | Uint8Array): void;
  /** `refused`: the handshake got an HTTP answer other than 101 (a bad, used or expired token). */
  onClose(code: number, refused: boolean): void;
}

export interface ChatSocket {
  send(text: string): void;
  close(): void;
}

export interface Transport {
  /** Opens a WebSocket with the chat token as its only subprotocol. Events arrive on `events`. */
  open(url: string, token: string, events: SocketEvents): ChatSocket;
  /** Decodes a frame the fast path could not read (bytes engines only). */
  text(data: Uint8Array): string;
}

export interface RoomRef {
  arn: string;
  id: string;
}

export type Capability = 'SEND_MESSAGE' | 'DELETE_MESSAGE' | 'DISCONNECT_USER';

export interface TokenRequest {
  roomArn: string;
  userId: string;
  capabilities: Capability[];
  sessionDurationInMinutes: number;
}

export interface ControlPlane {
  /** `loggingConfigurationArns`: the room logs every message and event there (the chat-log audit). */
  createRoom(name: string, maximumMessageRatePerSecond: number, loggingConfigurationArns?: string[]): Promise<RoomRef>;
  /** A room by its exact name (ListRooms' name filter), for shards that join rooms another shard created. */
  findRoom(name: string): Promise<RoomRef | undefined>;
  /** An S3-style logging destination; chatstorm writes it to <data dir>/logs/s3/<bucketName>/. */
  createLoggingConfiguration(name: string, bucketName: string): Promise<{ arn: string }>;
  deleteLoggingConfiguration(arn: string): Promise<void>;
  createChatToken(request: TokenRequest): Promise<string>;
  deleteMessage(roomArn: string, id: string, reason: string): Promise<void>;
  disconnectUser(roomArn: string, userId: string, reason: string): Promise<void>;
  deleteRoom(roomArn: string): Promise<void>;
  /** SendEvent (replays of recorded custom events). */
  sendEvent?(roomArn: string, eventName: string, attributes: Record<string, string>): Promise<void>;
}

/** A control-plane call that failed; `status` 0 when no HTTP answer came back. */
export class ControlPlaneError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(`${operation}: ${status} ${type} ${message}`);
    this.name = 'ControlPlaneError';
  }
}

export function connectOutcomeOf(error: unknown): Exclude<ConnectOutcome, 'ok'> {
  return error instanceof ControlPlaneError && error.status >= 400 && error.status < 500 ? 'refused' : 'error';
}

export interface MetricsSink {
  connected(handshakeMs: number): void;
  connectFailed(outcome: Exclude<ConnectOutcome, 'ok'>): void;
  tokenIssued(ms: number): void;
  disconnected(reason: DisconnectReason): void;
  /** `room`: the room's index in the profile (engines that tag metrics by room use it). */
  sent(room: number): void;
  acked(ms: number): void;
  /** Hot path: once per MESSAGE frame from another viewer. */
  delivered(latencyMs: number, room: number): void;
  /** With several nodes (Swarm wsUrls), the same delivery by node index; engines may ignore it. */
  deliveredVia?(node: number, latencyMs: number): void;
  duplicated(): void;
  outOfOrder(): void;
  errorFrame(code: number): void;
  apiError(operation: string, status: number): void;
  moderation(action: ModerationAction, via: ModerationVia): void;
  moderationEvent(action: ModerationAction): void;
}

/** Where senders' sends and receivers' closed connections go for loss accounting. */
export interface DeliveryLog {
  sent(sender: number, seq: number, at: number): void;
  resolved(sender: number, seq: number, outcome: number, at: number): void;
  closed(summary: ConnectionSummary): void;
  /**
   * The outcome (SEND_ACKED / SEND_REJECTED / SEND_UNCERTAIN) of a moderator's action, named by
   * its tag (`d17`, `x18`: unique per room, carried in the event's Reason), for the chat-log audit.
   */
  moderated?(room: number, tag: string, outcome: number): void;
}
