import type { Redis } from 'ioredis';
import { apiErrors } from '../errors.ts';
import type { RedisUse } from '../metrics.ts';
import type { RedisHealth } from '../redis/redis-health.ts';
import type { LoggingConfiguration, Room } from '../rooms/room.ts';
import type { Store } from './store.ts';

/**
 * A used-token record outlives the token by this much: nodes whose clocks run behind the node that
 * took the token still find the record while they consider the token unexpired.
 */
const TOKEN_CLOCK_SKEW_MARGIN_MS = 60_000;
/** Records fetched per MGET when listing: one large reply would stall Redis for every other node. */
const LIST_BATCH = 1_000;
/**
 * How long a deleted id stays deleted for writes: longer than any read-modify-write (UpdateRoom,
 * TagResource) takes between its read and its write. Ids are never reused.
 */
const TOMBSTONE_MS = 10 * 60_000;

/**
 * Writes a record unless it was deleted meanwhile: an UpdateRoom on one node that read the room
 * before a DeleteRoom on another must not bring it back. It then counts as done before the delete.
 * KEYS: record, index, tombstone; ARGV: id, JSON.
 */
const PUT_SCRIPT = `
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
redis.call('SADD', KEYS[2], ARGV[1])
return 1
`;

/**
 * A read-modify-write's write: only if the record is still what was read (compare-and-set on
 * its JSON), and not deleted. Returns 1 written, 0 deleted or gone, -1 changed meanwhile (read again).
 * KEYS: record, tombstone; ARGV: new JSON, the JSON read.
 */
const SWAP_SCRIPT = `
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
local current = redis.call('GET', KEYS[1])
if not current then return 0 end
if current ~= ARGV[2] then return -1 end
redis.call('SET', KEYS[1], ARGV[1])
return 1
`;

/** Attempts of one read-modify-write before it gives up with ConflictException: contention this long is a client bug. */
const UPDATE_ATTEMPTS = 20;

type WithScripts = Redis & {
  chatstormPutRecord(record: string, index: string, tombstone: string, id: string, json: string): Promise<number>;
  chatstormSwapRecord(record: string, tombstone: string, json: string, read: string): Promise<number>;
};

interface Collection {
  /** The key of one record is `${record}${id}`; of its tombstone once deleted, `${deleted}${id}`. */
  record: string;
  deleted: string;
  /** A set of every id, for listing and counting without a SCAN. */
  index: string;
}

/**
 * The store of a fleet: every record lives in Redis and nothing is cached here, so what one node
 * writes, every node reads next (a node holds no state another could contradict). Tags live inside
 * their room or logging configuration record, as in the embedded store. Each record is one JSON
 * string beside an index set; writes are atomic (a script, or MULTI) so the record and its index
 * move together. ListRooms' order and pages are made by the caller (control-plane/resources.ts
 * paginate), so the index needs no order.
 *
 * A failed command (Redis away) rejects with RedisUnavailableError, counted and logged by
 * RedisHealth, and the request gets the protocol's 500; the next command after Redis returns
 * works, as the client reconnects by itself (redis/redis-client.ts).
 */
export class RedisStore implements Store {
  private readonly rooms: Collection;
  private readonly loggingConfigurations: Collection;
  private readonly tokenPrefix: string;
  private readonly redis: WithScripts;
  /** The update of each record under way on this node, by record key: the next one waits for it. */
  private readonly updating = new Map<string, Promise<unknown>>();

  constructor(
    redis: Redis,
    private readonly health: RedisHealth,
    prefix = 'chatstorm:',
    private readonly now: () => number = Date.now,
  ) {
    redis.defineCommand('chatstormPutRecord', { numberOfKeys: 3, lua: PUT_SCRIPT });
    redis.defineCommand('chatstormSwapRecord', { numberOfKeys: 2, lua: SWAP_SCRIPT });
    this.redis = redis as WithScripts;
    this.rooms = { record: `${prefix}room:`, deleted: `${prefix}deleted-room:`, index: `${prefix}rooms` };
    this.loggingConfigurations = {
      record: `${prefix}logging-configuration:`,
      deleted: `${prefix}deleted-logging-configuration:`,
      index: `${prefix}logging-configurations`,
    };
    this.tokenPrefix = `${prefix}used-token:`;
  }

  getRoom(id: string): Promise<Room | undefined> {
    return this.get<Room>(this.rooms, id);
  }

  listRooms(): Promise<Room[]> {
    return this.list<Room>(this.rooms);
  }

  countRooms(): Promise<number> {
    return this.command('store', () => this.redis.scard(this.rooms.index));
  }

  putRoom(room: Room): Promise<void> {
    return this.put(this.rooms, room.id, room);
  }

  updateRoom(id: string, change: (room: Room) => Room): Promise<Room | undefined> {
    return this.update(this.rooms, id, change);
  }

  deleteRoom(id: string): Promise<boolean> {
    return this.delete(this.rooms, id);
  }

  getLoggingConfiguration(id: string): Promise<LoggingConfiguration | undefined> {
    return this.get<LoggingConfiguration>(this.loggingConfigurations, id);
  }

  listLoggingConfigurations(): Promise<LoggingConfiguration[]> {
    return this.list<LoggingConfiguration>(this.loggingConfigurations);
  }

  putLoggingConfiguration(configuration: LoggingConfiguration): Promise<void> {
    return this.put(this.loggingConfigurations, configuration.id, configuration);
  }

  updateLoggingConfiguration(id: string, change: (configuration: LoggingConfiguration) => LoggingConfiguration): Promise<LoggingConfiguration | undefined> {
    return this.update(this.loggingConfigurations, id, change);
  }

  deleteLoggingConfiguration(id: string): Promise<boolean> {
    return this.delete(this.loggingConfigurations, id);
  }

  /** SET NX is the single point where the fleet agrees: one node's SET succeeds, every other's finds the key. */
  async consumeToken(tokenId: string, expiresAt: number): Promise<boolean> {
    const ttl = Math.max(1, expiresAt - this.now()) + TOKEN_CLOCK_SKEW_MARGIN_MS;
    const set = await this.command('token', () => this.redis.set(`${this.tokenPrefix}${tokenId}`, '1', 'PX', ttl, 'NX'));
    return set === 'OK';
  }

  /** The connection belongs to the server (the quotas and the bus use it too): it closes it. */
  async close(): Promise<void> {}

  private async get<T>(collection: Collection, id: string): Promise<T | undefined> {
    const json = await this.command('store', () => this.redis.get(`${collection.record}${id}`));
    return json === null ? undefined : (JSON.parse(json) as T);
  }

  private async list<T>(collection: Collection): Promise<T[]> {
    const ids = await this.command('store', () => this.redis.smembers(collection.index));
    const records: T[] = [];
    for (let i = 0; i < ids.length; i += LIST_BATCH) {
      const keys = ids.slice(i, i + LIST_BATCH).map((id) => `${collection.record}${id}`);
      const values = await this.command('store', () => this.redis.mget(keys));
      // null: deleted between the two reads, as if listed a moment later.
      for (const json of values) if (json !== null) records.push(JSON.parse(json) as T);
    }
    return records;
  }

  private async put(collection: Collection, id: string, record: object): Promise<void> {
    await this.command('store', () =>
      this.redis.chatstormPutRecord(`${collection.record}${id}`, collection.index, `${collection.deleted}${id}`, id, JSON.stringify(record)),
    );
  }

  /**
   * Compare-and-set across nodes, one at a time per record on this node: concurrent updates of one
   * record here queue behind each other, so only the nodes race (a few retries at most) and not
   * every request (which could starve one of them).
   */
  private update<T extends { arn: string }>(collection: Collection, id: string, change: (record: T) => T): Promise<T | undefined> {
    const key = `${collection.record}${id}`;
    const queued = this.updating.get(key);
    const run = (queued ? queued.catch(() => undefined) : Promise.resolve()).then(() => this.swap(collection, key, id, change));
    this.updating.set(key, run);
    const forget = () => {
      if (this.updating.get(key) === run) this.updating.delete(key);
    };
    run.then(forget, forget);
    return run;
  }

  private async swap<T extends { arn: string }>(collection: Collection, key: string, id: string, change: (record: T) => T): Promise<T | undefined> {
    let arn = id;
    for (let attempt = 1; attempt <= UPDATE_ATTEMPTS; attempt++) {
      const read = await this.command('store', () => this.redis.get(key));
      if (read === null) return undefined;
      const next = change(JSON.parse(read) as T);
      arn = next.arn;
      const swapped = await this.command('store', () => this.redis.chatstormSwapRecord(key, `${collection.deleted}${id}`, JSON.stringify(next), read));
      if (swapped === 1) return next;
      if (swapped === 0) return undefined;
      // Another node wrote between our read and our write: back off a little, at random, so two
      // nodes that keep colliding fall out of step.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * attempt * 2));
    }
    throw apiErrors.conflict(arn, `${arn} was changed by other requests ${UPDATE_ATTEMPTS} times while this one was applied; try again`);
  }

  private async delete(collection: Collection, id: string): Promise<boolean> {
    const [deleted] = await this.transaction(
      this.redis.multi().del(`${collection.record}${id}`).srem(collection.index, id).set(`${collection.deleted}${id}`, '1', 'PX', TOMBSTONE_MS),
    );
    return deleted === 1;
  }

  private async transaction(multi: ReturnType<Redis['multi']>): Promise<unknown[]> {
    const replies = await this.command('store', () => multi.exec());
    if (!replies) throw this.health.failed('store', new Error('MULTI transaction aborted'));
    return replies.map(([error, reply]) => {
      if (error) throw this.health.failed('store', error);
      return reply;
    });
  }

  private async command<T>(use: RedisUse, run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      throw this.health.failed(use, error);
    }
  }
}
