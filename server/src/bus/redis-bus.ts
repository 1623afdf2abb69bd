import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Counter } from 'prom-client';
import type { Logger } from 'pino';
import type { BusMessageType, FrameType, Metrics } from '../metrics.ts';
import { createRedisClient } from '../redis/redis-client.ts';
import { BusUnavailableError, type Bus } from './bus.ts';
import type { LocalHub } from './local-hub.ts';

const CHANNEL_PREFIX = 'chatstorm:room:';
const NODE_ID_BYTES = 8;
const HEADER_BYTES = 1 + NODE_ID_BYTES;

// One bus message on the wire: <kind byte><node id, 8 ASCII bytes><body>. Hand-written because it
// runs once per frame: a frame is already serialized JSON, and a one-byte prefix lets the sender
// publish it as is (no JSON wrapping, no second serialization) and every receiver hand the body
// bytes to uWS without decoding them into a string.
const KIND: Record<BusMessageType, string> = {
  MESSAGE: 'M',
  EVENT: 'E',
  disconnect_user: 'D',
  close_room: 'C',
  room_changed: 'R',
};
const TYPE_OF_KIND = new Map<number, BusMessageType>(Object.entries(KIND).map(([type, kind]) => [kind.charCodeAt(0), type as BusMessageType]));

// How long a publish may wait for Redis before it counts as failed: a stalled Redis must not hold
// SEND_MESSAGE answers for ever.
const COMMAND_TIMEOUT_MS = 2000;
// Start-up waits this long for Redis; past it the node serves locally and joins the bus when Redis answers.
const STARTUP_WAIT_MS = 3000;

/**
 * The bus across nodes on Redis sharded pub/sub (SPUBLISH/SSUBSCRIBE, Redis 7): one channel per
 * room, which in Redis Cluster lives on one shard instead of being broadcast to all. A node
 * listens to a room's channel only while it holds connections to that room.
 *
 * Exactly once: the node that accepts a call applies it to its own connections at once (so local
 * fan-out goes on while Redis is away) and publishes it once; every node drops, by node id, what
 * it published itself. In order: one publisher connection per node, and Redis keeps the order of
 * one connection's publishes to one channel; control events share the room's channel so they stay
 * behind the frames published before them.
 */
export class RedisBus implements Bus {
  private readonly nodeId = randomBytes(6).toString('base64url');
  private readonly nodeIdBytes = Buffer.from(this.nodeId, 'latin1');
  /** Connections (open, or in their handshake) per room on this node. */
  private readonly listeners = new Map<string, number>();
  /** Rooms whose SSUBSCRIBE (and settings reload) is in flight. */
  private readonly pending = new Map<string, Promise<void>>();
  private readonly counted: Record<BusMessageType, { published: Counter.Internal; received: Counter.Internal; failed: Counter.Internal }>;

  static async connect(url: string, hub: LocalHub, metrics: Metrics, log: Logger): Promise<RedisBus> {
    const options = {
      // Fail at once while Redis is away instead of queueing: the caller answers with an error
      // and the failure is counted, rather than the frame arriving minutes later or never.
      enableOfflineQueue: false,
      autoResendUnfulfilledCommands: false,
      maxRetriesPerRequest: 0,
      commandTimeout: COMMAND_TIMEOUT_MS,
    };
    const bus = new RedisBus(
      // Auto-pipelining: the publishes of one event-loop turn leave in one write, not one each.
      createRedisClient(url, log, 'chatstorm-bus', { ...options, enableAutoPipelining: true }),
      // A connection in subscriber mode can run no other command: the subscriber is its own.
      createRedisClient(url, log, 'chatstorm-bus-subscriber', { ...options, autoResubscribe: false, commandTimeout: undefined }),
      hub,
      metrics,
      log,
    );
    await bus.ready(STARTUP_WAIT_MS);
    return bus;
  }

  constructor(
    private readonly publisher: Redis,
    private readonly subscriber: Redis,
    private readonly hub: LocalHub,
    metrics: Metrics,
    private readonly log: Logger,
  ) {
    const bind = (type: BusMessageType) => ({
      published: metrics.busPublished.labels(type),
      received: metrics.busReceived.labels(type),
      failed: metrics.busFailed.labels(type),
    });
    this.counted = {
      MESSAGE: bind('MESSAGE'),
      EVENT: bind('EVENT'),
      disconnect_user: bind('disconnect_user'),
      close_room: bind('close_room'),
      room_changed: bind('room_changed'),
    };
    metrics.probes.busConnected = () => (publisher.status === 'ready' && subscriber.status === 'ready' ? 1 : 0);
    subscriber.on('smessageBuffer', (channel: Buffer, message: Buffer) => this.receive(channel, message));
    // Also after every reconnect: Redis forgot this connection's subscriptions, and calls made
    // while it was away (UpdateRoom, DeleteRoom) never arrived, so each room's settings are re-read.
    subscriber.on('ready', () => this.resubscribe());
  }

  publish(roomId: string, frame: string, type: FrameType): Promise<void> {
    this.hub.deliver(roomId, frame, type);
    return this.send(roomId, KIND[type] + this.nodeId + frame, type);
  }

  disconnectUser(roomId: string, userId: string): Promise<void> {
    this.hub.disconnectUser(roomId, userId);
    return this.send(roomId, KIND.disconnect_user + this.nodeId + userId, 'disconnect_user');
  }

  closeRoom(roomId: string): Promise<void> {
    this.hub.closeRoom(roomId);
    return this.send(roomId, KIND.close_room + this.nodeId, 'close_room');
  }

  async roomChanged(roomId: string): Promise<void> {
    await this.hub.roomChanged(roomId);
    await this.send(roomId, KIND.room_changed + this.nodeId, 'room_changed');
  }

  subscribe(roomId: string): Promise<void> | undefined {
    const count = this.listeners.get(roomId) ?? 0;
    this.listeners.set(roomId, count + 1);
    if (count > 0) return this.pending.get(roomId);
    // Away: resubscribe() takes the room when Redis is back.
    if (this.subscriber.status !== 'ready') return undefined;
    const subscribed = this.listen(roomId).finally(() => this.pending.delete(roomId));
    this.pending.set(roomId, subscribed);
    return subscribed;
  }

  unsubscribe(roomId: string): void {
    const count = this.listeners.get(roomId);
    if (count === undefined) return;
    if (count > 1) {
      this.listeners.set(roomId, count - 1);
      return;
    }
    this.listeners.delete(roomId);
    if (this.subscriber.status !== 'ready') return;
    this.subscriber.sunsubscribe(CHANNEL_PREFIX + roomId).catch(() => {
      // Unsubscribed by the disconnect itself.
    });
  }

  async close(): Promise<void> {
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }

  /** Subscribes, then re-reads the room: changes made while this node was not listening never reached it. */
  private async listen(roomId: string): Promise<void> {
    try {
      await this.subscriber.ssubscribe(CHANNEL_PREFIX + roomId);
    } catch (err) {
      // Lost the connection meanwhile: resubscribe() takes the room when it is back.
      this.log.debug({ err, roomId }, 'ssubscribe failed');
      return;
    }
    await this.hub.roomChanged(roomId);
  }

  private resubscribe(): void {
    for (const roomId of this.listeners.keys()) {
      if (this.pending.has(roomId)) continue;
      const subscribed = this.listen(roomId)
        .catch((err: unknown) => this.log.error({ err, roomId }, 'room reload after reconnect failed'))
        .finally(() => this.pending.delete(roomId));
      this.pending.set(roomId, subscribed);
    }
  }

  private async send(roomId: string, payload: string, type: BusMessageType): Promise<void> {
    try {
      await this.publisher.spublish(CHANNEL_PREFIX + roomId, payload);
    } catch (err) {
      this.counted[type].failed.inc();
      throw new BusUnavailableError(err);
    }
    this.counted[type].published.inc();
  }

  private receive(channel: Buffer, message: Buffer): void {
    if (message.length < HEADER_BYTES || this.isOwn(message)) return;
    const type = TYPE_OF_KIND.get(message[0]!);
    if (type === undefined) {
      this.log.warn({ kind: message[0] }, 'unknown bus message kind: a node of another version?');
      return;
    }
    const roomId = channel.toString('latin1', CHANNEL_PREFIX.length);
    this.counted[type].received.inc();
    switch (type) {
      case 'MESSAGE':
      case 'EVENT':
        this.hub.deliver(roomId, message.subarray(HEADER_BYTES), type);
        return;
      case 'disconnect_user':
        this.hub.disconnectUser(roomId, message.toString('utf8', HEADER_BYTES));
        return;
      case 'close_room':
        this.hub.closeRoom(roomId);
        return;
      case 'room_changed':
        this.hub.roomChanged(roomId).catch((err: unknown) => this.log.error({ err, roomId }, 'room reload failed'));
        return;
    }
  }

  private isOwn(message: Buffer): boolean {
    for (let i = 0; i < NODE_ID_BYTES; i++) if (message[1 + i] !== this.nodeIdBytes[i]) return false;
    return true;
  }

  private ready(ms: number): Promise<void> {
    const both = Promise.all(
      [this.publisher, this.subscriber].map(
        (client) => new Promise<void>((resolve) => (client.status === 'ready' ? resolve() : client.once('ready', () => resolve()))),
      ),
    );
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.log.warn(`redis not ready within ${ms / 1000} s: serving this node's connections only until it is`);
        resolve();
      }, ms);
    });
    return Promise.race([both.then(() => undefined), timeout]).finally(() => clearTimeout(timer));
  }
}
