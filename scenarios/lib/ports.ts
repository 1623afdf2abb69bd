import type { MessageScan } from './codec.ts';
import type { ReconnectPolicy } from './profile.ts';
import type { ConnectionSummary } from './receive-tracker.ts';
import type { ConnectOutcome, DisconnectReason, ModerationAction, ModerationVia } from './results.ts';
import type { RoomLayout } from './schedule.ts';

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

/**
 * Counting receive mode (raw transport only): the transport counts this socket's MESSAGE frames
 * and bytes straight from the WebSocket framing and hands only every `decodeEvery`-th one to
 * onMessage. Other frames (EVENT, ERROR) always go to onMessage.
 */
export interface ReceiveCount {
  readonly decodeEvery: number;
  frames: number;
  bytes: number;
}

export interface SocketEvents {
  /** Set (before open) when the socket should count instead of decode; engines without it decode everything. */
  readonly receiveCount?: ReceiveCount | null;
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

// ---- what a viewer needs from whoever holds it (the swarm) ------------------------------------

/** A viewer's connection states; the host counts connecting (TOKEN, CONNECTING) and connected (OPEN, CLOSING) from them. */
export const VIEWER_IDLE = 0;
export const VIEWER_TOKEN = 1;
export const VIEWER_CONNECTING = 2;
export const VIEWER_OPEN = 3;
export const VIEWER_CLOSING = 4;

/**
 * The narrow interface the per-frame viewer code is written against: a handful of services and
 * fixed settings, no access to the swarm's bookkeeping. Every state change is reported through
 * `moved`, so the host's connection counts are kept in one place.
 */
export interface ViewerHost {
  readonly clock: Clock;
  readonly metrics: MetricsSink;
  readonly log: DeliveryLog;
  readonly transport: Transport;
  readonly layout: RoomLayout;
  /** Shared scratch for the receive fast path. */
  readonly scan: MessageScan;
  readonly settings: ViewerSettings;
  token(index: number, room: number, capabilities: Capability[]): Promise<string>;
  wsUrlOf(index: number): string;
  /** Whether the viewer at this position of the host's list is still wanted in the audience. */
  wants(position: number): boolean;
  moved(from: number, to: number): void;
  /** Bring the viewer at this position back at its `rejoinAt`. */
  rejoin(position: number): void;
  jitter(ms: number): number;
  noteError(operation: string, error: unknown): void;
}

export interface ViewerSettings {
  /** Sender slots per room (chatters per room): the size of each receive tracker. */
  readonly slots: number;
  /** Nodes the viewers are spread over (deliveries per node when > 1). */
  readonly nodes: number;
  readonly reconnect: ReconnectPolicy;
  readonly reconnectDelayMs: number;
  /** 0: decode every frame. N ≥ 1: counting receive mode for plain viewers, every Nth MESSAGE frame decoded. */
  readonly decodeEvery: number;
}

/** What a chatter's sending needs (chatter.ts): runs on the ticker, not per frame. */
export interface ChatterHost {
  readonly metrics: MetricsSink;
  readonly log: DeliveryLog;
  readonly content: string;
  /** Current ms between a chatter's sends; it changes when the profile steps the rate. */
  readonly sendPeriodMs: number;
  /** Unanswered this long after a send while connected: the server dropped it. */
  readonly settleMs: number;
  random(): number;
}

/** What a moderator's actions need (moderator.ts): runs on the ticker, not per frame. */
export interface ModeratorHost {
  readonly metrics: MetricsSink;
  readonly log: DeliveryLog;
  readonly control: ControlPlane;
  readonly layout: RoomLayout;
  readonly moderation: { deleteMessagePerSecond: number; disconnectUserPerSecond: number; httpShare: number };
  roomArn(room: number): string;
  pickVictim(room: number, moderator: number): number;
  random(): number;
  noteError(operation: string, error: unknown): void;
  /** A moderator saw a message (replays keep the Ids a recorded delete names). */
  saw?(sender: number, seq: number, id: string): void;
}
