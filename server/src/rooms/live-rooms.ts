import type { Store } from '../store/store.ts';
import type { ChatSocket } from '../messaging/connection.ts';
import { disconnect } from '../messaging/disconnect-reasons.ts';
import { TokenBucket } from '../token-bucket.ts';
import type { RoomLabels, RoomSeries } from './room-labels.ts';
import type { LogDestination } from '../chat-logging/destinations.ts';
import type { Room } from './room.ts';
import { resolveLogDestinations, resolveRoomSettings, type RoomSettings } from './room-settings.ts';

/**
 * A room as this node sees it: its settings, the connections it holds, and its message-rate
 * budget. Connections are indexed by user so DISCONNECT_USER finds them without a scan.
 *
 * The budget here is the room's whole limit on a node without Redis; with --redis-url the limit is
 * a bucket in Redis (send-message.ts) and this one serves only while Redis fails.
 */
export class LiveRoom {
  // Most users hold one connection: keep it bare and grow to an array only for the rare second
  // one, so an idle viewer costs a map entry rather than a map entry and a Set.
  private readonly users = new Map<string, ChatSocket | ChatSocket[]>();
  connectionCount = 0;
  deleted = false;
  lastActive = Date.now();
  private readonly messageBudget: TokenBucket;

  constructor(
    readonly id: string,
    public settings: RoomSettings,
    /** Per-room metric series, only under --metrics-room-labels. */
    readonly series: RoomSeries | undefined,
  ) {
    this.messageBudget = new TokenBucket(settings.maximumMessageRatePerSecond);
  }

  add(ws: ChatSocket, userId: string): void {
    const held = this.users.get(userId);
    if (held === undefined) this.users.set(userId, ws);
    else if (Array.isArray(held)) held.push(ws);
    else this.users.set(userId, [held, ws]);
    this.connectionCount++;
    this.series?.connections.inc();
  }

  remove(ws: ChatSocket, userId: string): void {
    const held = this.users.get(userId);
    if (held === ws) this.users.delete(userId);
    else if (Array.isArray(held) && held.includes(ws)) {
      const rest = held.filter((other) => other !== ws);
      this.users.set(userId, rest.length === 1 ? rest[0]! : rest);
    } else return;
    this.connectionCount--;
    this.series?.connections.dec();
    this.lastActive = Date.now();
  }

  socketsOf(userId: string): ChatSocket[] {
    const held = this.users.get(userId);
    if (held === undefined) return [];
    return Array.isArray(held) ? [...held] : [held];
  }

  *sockets(): Iterable<ChatSocket> {
    for (const held of this.users.values()) {
      if (Array.isArray(held)) yield* held;
      else yield held;
    }
  }

  /** True when the room's maximumMessageRatePerSecond allows one more message now. */
  tryTakeMessage(now: number): boolean {
    return this.messageBudget.take(this.settings.maximumMessageRatePerSecond, now);
  }
}

const EMPTY_ROOM_TTL_MS = 60_000;

/** The rooms that have (or recently had) connections on this node. */
export class LiveRooms {
  private readonly rooms = new Map<string, LiveRoom>();
  private readonly loading = new Map<string, Promise<LiveRoom | undefined>>();
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    private readonly idOfLoggingConfiguration: (arn: string) => string | undefined,
    private readonly labels: RoomLabels,
  ) {
    this.sweepTimer = setInterval(() => this.sweep(), EMPTY_ROOM_TTL_MS);
    this.sweepTimer.unref();
  }

  get(id: string): LiveRoom | undefined {
    return this.rooms.get(id);
  }

  /** The live room, loading its settings from the store on first use; undefined if the room does not exist. */
  acquire(id: string): Promise<LiveRoom | undefined> {
    const live = this.rooms.get(id);
    if (live) return Promise.resolve(live);
    let pending = this.loading.get(id);
    if (!pending) {
      pending = this.load(id).finally(() => this.loading.delete(id));
      this.loading.set(id, pending);
    }
    return pending;
  }

  private async load(id: string): Promise<LiveRoom | undefined> {
    const room = await this.store.getRoom(id);
    if (!room) return undefined;
    const settings = await resolveRoomSettings(this.store, room, this.idOfLoggingConfiguration);
    const live = new LiveRoom(id, settings, this.labels.seriesFor(id));
    this.rooms.set(id, live);
    return live;
  }

  /**
   * Where a room's events are logged, for a request that does not come from one of its
   * connections: the live room's settings when this node holds it, else resolved from the record
   * without making the room live (which would take one of --metrics-room-labels' slots).
   */
  async logDestinationsOf(room: Room): Promise<readonly LogDestination[]> {
    if (room.loggingConfigurationIdentifiers.length === 0) return [];
    const live = this.rooms.get(room.id);
    if (live) return live.settings.logDestinations;
    return resolveLogDestinations(this.store, room, this.idOfLoggingConfiguration);
  }

  async reload(id: string): Promise<void> {
    const live = this.rooms.get(id);
    if (!live) return;
    const room = await this.store.getRoom(id);
    if (!room) {
      this.close(id);
      return;
    }
    live.settings = await resolveRoomSettings(this.store, room, this.idOfLoggingConfiguration);
  }

  /** Ends every connection of the room (it was deleted) and forgets it. */
  close(id: string): void {
    const live = this.rooms.get(id);
    if (!live) return;
    live.deleted = true;
    this.rooms.delete(id);
    for (const ws of [...live.sockets()]) disconnect(ws, 'room_deleted');
    // After the closes: their bookkeeping touches the room's series, which would bring them back.
    this.labels.release(id);
  }

  closeUser(id: string, userId: string): void {
    const live = this.rooms.get(id);
    if (!live) return;
    for (const ws of live.socketsOf(userId)) disconnect(ws, 'disconnect_user');
  }

  activeRoomCount(): number {
    let count = 0;
    for (const live of this.rooms.values()) if (live.connectionCount > 0) count++;
    return count;
  }

  *allSockets(): Iterable<ChatSocket> {
    for (const live of this.rooms.values()) yield* live.sockets();
  }

  private sweep(): void {
    const cutoff = Date.now() - EMPTY_ROOM_TTL_MS;
    for (const [id, live] of this.rooms) {
      if (live.connectionCount === 0 && live.lastActive < cutoff) {
        this.rooms.delete(id);
        this.labels.release(id);
      }
    }
  }

  stop(): void {
    clearInterval(this.sweepTimer);
  }
}
