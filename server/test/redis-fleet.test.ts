import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CreateRoomCommand,
  DeleteRoomCommand,
  GetRoomCommand,
  InternalServerException,
  ListLoggingConfigurationsCommand,
  ListRoomsCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  ThrottlingException,
  UpdateRoomCommand,
} from '@aws-sdk/client-ivschat';
import { Redis } from 'ioredis';
import { ConfigError, loadConfig } from '../src/config.ts';
import { FleetConnections } from '../src/messaging/connection-quota.ts';
import { RedisHealth } from '../src/redis/redis-health.ts';
import type { Room } from '../src/rooms/room.ts';
import { RedisStore } from '../src/store/redis-store.ts';
import { createRoom, createToken } from './support/chat.ts';
import { expectApiError } from './support/control-plane.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { REDIS_SKIP, startRedis, type TestRedis } from './support/redis.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { metricValue } from './support/within.ts';


/** Three nodes of one service: one Redis, one token key, each on its own port. */
async function startFleet(redis: TestRedis, args: string[] = []): Promise<TestServer[] & { stop(): Promise<void> }> {
  const tokenKey = randomBytes(32).toString('base64');
  const nodes = await Promise.all(
    [0, 1, 2].map(() => startTestServer(['--redis-url', redis.url, '--token-key', tokenKey, ...args])),
  );
  return Object.assign(nodes, { stop: () => Promise.all(nodes.map((node) => node.stop())).then(() => undefined) });
}

/** A room record as the stores keep it, for driving two nodes' stores directly. */
function roomRecord(id: string, name: string): Room {
  const now = new Date().toISOString();
  return {
    arn: `arn:aws:ivschat:us-east-1:123456789012:room/${id}`,
    id,
    name,
    createTime: now,
    updateTime: now,
    maximumMessageRatePerSecond: 10,
    maximumMessageLength: 500,
    messageReviewHandler: { uri: '', fallbackResult: 'ALLOW' },
    tags: {},
    loggingConfigurationIdentifiers: [],
  };
}

async function refusal(url: string, token: string): Promise<number> {
  try {
    const socket = await RawChatSocket.connect(url, token);
    socket.close();
    return 101;
  } catch (error) {
    return (error as { status?: number }).status ?? -1;
  }
}

/** Retries `attempt` until it resolves true, failing with `what` after `ms` (waits on a reconnecting Redis). */
async function eventually(what: string, attempt: () => Promise<boolean>, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      if (await attempt()) return;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms (last error: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

it('--redis-url takes a redis:// or rediss:// URL and names the option when given anything else', () => {
  assert.equal(loadConfig(['--redis-url', 'redis://127.0.0.1:6379'], {}).redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(loadConfig([], { CHATSTORM_REDIS_URL: 'rediss://user:pw@cache:6380/2' }).redisUrl, 'rediss://user:pw@cache:6380/2');
  assert.equal(loadConfig([], {}).redisUrl, undefined, 'no Redis: the embedded store');
  assert.throws(() => loadConfig(['--redis-url', '127.0.0.1:6379'], {}), (error: unknown) => {
    assert.ok(error instanceof ConfigError);
    assert.match(error.message, /--redis-url \/ CHATSTORM_REDIS_URL: a Redis URL such as redis:\/\/127\.0\.0\.1:6379/);
    return true;
  });
});

describe('many chatstorm nodes on one Redis', { skip: REDIS_SKIP }, () => {
  let redis: TestRedis;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  it('a token used on node A is refused on nodes B and C', async () => {
    const [a, b, c] = await startFleet(redis).then((fleet) => {
      after(() => fleet.stop());
      return fleet;
    });
    const room = await createRoom(a!);
    const { token } = await createToken(b!, room.arn, 'viewer');
    const first = await RawChatSocket.connect(a!.wsUrl, token);
    assert.equal(await refusal(b!.wsUrl, token), 401, 'the token is spent on B');
    assert.equal(await refusal(c!.wsUrl, token), 401, 'the token is spent on C');
    assert.equal(await metricValue(b!, 'chatstorm_tokens_rejected_total{reason="reused"}'), 1);
    first.close();
  });

  it('rooms and tags created on A are visible on C, and a room deleted on C is gone on B', async () => {
    const [a, b, c] = await startFleet(redis).then((fleet) => {
      after(() => fleet.stop());
      return fleet;
    });
    const created = await a!.client.send(new CreateRoomCommand({ name: 'fleet-room', tags: { team: 'red' } }));
    await b!.client.send(new TagResourceCommand({ resourceArn: created.arn!, tags: { owner: 'b' } }));
    const seen = await c!.client.send(new GetRoomCommand({ identifier: created.arn! }));
    assert.equal(seen.name, 'fleet-room');
    assert.deepEqual(seen.tags, { team: 'red', owner: 'b' });
    const tags = await c!.client.send(new ListTagsForResourceCommand({ resourceArn: created.arn! }));
    assert.deepEqual(tags.tags, { team: 'red', owner: 'b' });
    const listed = await c!.client.send(new ListRoomsCommand({ name: 'fleet-room' }));
    assert.deepEqual(listed.rooms!.map((room) => room.id), [created.id]);

    await c!.client.send(new DeleteRoomCommand({ identifier: created.arn! }));
    await expectApiError(b!.client.send(new GetRoomCommand({ identifier: created.arn! })), ResourceNotFoundException);
    const after_ = await a!.client.send(new ListRoomsCommand({ name: 'fleet-room' }));
    assert.deepEqual(after_.rooms, []);
  });

  it('ListRooms pages the same on every node: newest first, each room once', async () => {
    const [a, b, c] = await startFleet(redis).then((fleet) => {
      after(() => fleet.stop());
      return fleet;
    });
    const name = `paged-${Date.now()}`;
    const ids: string[] = [];
    for (const node of [a!, b!, c!, a!, b!]) ids.push((await node.client.send(new CreateRoomCommand({ name }))).id!);
    const seen: string[] = [];
    let nextToken: string | undefined;
    const nodes = [c!, a!, b!];
    for (let page = 0; page < 5; page++) {
      const out = await nodes[page % 3]!.client.send(new ListRoomsCommand({ name, maxResults: 2, nextToken }));
      seen.push(...out.rooms!.map((room) => room.id!));
      nextToken = out.nextToken;
      if (!nextToken) break;
    }
    assert.deepEqual([...seen].sort(), [...ids].sort(), 'every room listed exactly once across the pages');
    const all = await a!.client.send(new ListRoomsCommand({ name }));
    assert.deepEqual(all.rooms!.map((room) => room.id), seen, 'pages from different nodes follow one order');
  });

  it("the room's maximumMessageRatePerSecond holds when its senders are spread over three nodes", async () => {
    const fleet = await startFleet(redis);
    after(() => fleet.stop());
    const rate = 5;
    const room = await createRoom(fleet[0]!, { maximumMessageRatePerSecond: rate });
    const senders = await Promise.all(
      fleet.map(async (node, i) => RawChatSocket.connect(node.wsUrl, (await createToken(node, room.arn, `sender-${i}`)).token)),
    );
    const perSender = 10;
    const started = performance.now();
    for (let n = 0; n < perSender; n++) {
      senders.forEach((socket, i) => socket.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: `s${i}-${n}`, Content: 'hi' })));
    }
    let accepted = 0;
    let limited = 0;
    for (const [i, socket] of senders.entries()) {
      for (let n = 0; n < perSender; n++) {
        const answer = await socket.waitFor((frame) => frame.RequestId === `s${i}-${n}`);
        if (answer.Type === 'MESSAGE') accepted++;
        else {
          assert.equal(answer.ErrorCode, 429, JSON.stringify(answer));
          limited++;
        }
      }
    }
    const elapsedSeconds = (performance.now() - started) / 1000;
    // One bucket for the fleet: a full second's worth plus what refilled while the burst lasted.
    // Per-node buckets would have let 3 × 5 through.
    const bound = rate + Math.ceil(rate * elapsedSeconds);
    assert.ok(accepted <= bound, `${accepted} messages accepted in ${elapsedSeconds.toFixed(2)} s; the fleet allows at most ${bound}`);
    assert.ok(accepted >= rate, `the first ${rate} messages pass (${accepted} did)`);
    assert.equal(accepted + limited, 3 * perSender);
    for (const socket of senders) socket.close();
  });

  it('the per-account API quota holds across the nodes (ListLoggingConfigurations, 3/s)', async () => {
    const fleet = await startFleet(redis, ['--api-quotas', 'on']);
    after(() => fleet.stop());
    const perNode = 8;
    const started = performance.now();
    const outcomes = await Promise.all(
      fleet.flatMap((node) =>
        Array.from({ length: perNode }, () =>
          node.client.send(new ListLoggingConfigurationsCommand({})).then(
            () => 'ok',
            (error: unknown) => {
              assert.ok(error instanceof ThrottlingException, String(error));
              return 'throttled';
            },
          ),
        ),
      ),
    );
    const elapsedSeconds = (performance.now() - started) / 1000;
    const ok = outcomes.filter((outcome) => outcome === 'ok').length;
    const bound = 3 + Math.ceil(3 * elapsedSeconds);
    assert.ok(ok <= bound, `${ok} calls passed in ${elapsedSeconds.toFixed(2)} s; the account allows at most ${bound} (per node it would be 9)`);
    assert.ok(ok >= 3, `the first 3 calls pass (${ok} did)`);
  });

  it('the concurrent-connections quota counts the connections of every node', async () => {
    const [a, b, c] = await startFleet(redis, ['--max-connections', '2']).then((fleet) => {
      after(() => fleet.stop());
      return fleet;
    });
    const room = await createRoom(a!);
    const onA = await RawChatSocket.connect(a!.wsUrl, (await createToken(a!, room.arn, 'a')).token);
    const onB = await RawChatSocket.connect(b!.wsUrl, (await createToken(b!, room.arn, 'b')).token);
    const { token } = await createToken(c!, room.arn, 'c');
    assert.equal(await refusal(c!.wsUrl, token), 429, 'C refuses: the fleet holds 2 connections');
    assert.equal(await metricValue(c!, 'chatstorm_handshakes_total{outcome="connection_limit"}'), 1);
    onA.close();
    await onA.waitForClose();
    // The token was not spent by the 429: it opens once A's connection is released.
    await eventually('C accepts once A released its connection', async () => {
      const socket = await RawChatSocket.connect(c!.wsUrl, token);
      socket.close();
      return true;
    });
    onB.close();
  });

  it('a room deleted on one node is not brought back by an update that read it before the delete', async () => {
    const clients = [new Redis(redis.url), new Redis(redis.url)];
    after(() => clients.forEach((client) => client.disconnect()));
    // Two nodes' stores, driven directly to force the interleaving: read on one, delete on the other, then write.
    const prefix = `tombstone-${Date.now()}:`;
    const [updater, deleter] = clients.map((client) => new RedisStore(client, new RedisHealth(undefined, undefined), prefix));
    const room = roomRecord('RaCeDrOoM001', 'raced');
    await updater!.putRoom(room);
    const read = (await updater!.getRoom(room.id))!;
    assert.equal(read.name, 'raced');
    assert.equal(await deleter!.deleteRoom(room.id), true);
    await updater!.putRoom({ ...read, name: 'renamed' });
    assert.equal(await deleter!.getRoom(room.id), undefined, 'the deleted room stays deleted');
    assert.equal(await updater!.countRooms(), 0);
    assert.deepEqual(await updater!.listRooms(), []);
  });

  it('a read-modify-write that another node overtook is applied again on the newer record, and one on a deleted room writes nothing', async () => {
    const clients = [new Redis(redis.url), new Redis(redis.url)];
    after(() => clients.forEach((client) => client.disconnect()));
    const prefix = `swap-${Date.now()}:`;
    const [mine, other] = clients.map((client) => new RedisStore(client, new RedisHealth(undefined, undefined), prefix));
    const room = roomRecord('SwApPeDrOoM1', 'swapped');
    await mine!.putRoom(room);
    const key = `${prefix}room:${room.id}`;
    // Commands on one connection run in order: a write issued inside `change` on the same
    // connection lands between this update's read and its compare-and-set, every time.
    let calls = 0;
    const updated = await mine!.updateRoom(room.id, (current) => {
      if (++calls === 1) void clients[0]!.set(key, JSON.stringify({ ...current, tags: { other: 'yes' } }));
      return { ...current, tags: { ...current.tags, mine: 'yes' } };
    });
    assert.equal(calls, 2, 'the change ran again on the record the other write left');
    assert.deepEqual(updated?.tags, { other: 'yes', mine: 'yes' });
    assert.deepEqual((await other!.getRoom(room.id))?.tags, { other: 'yes', mine: 'yes' });

    calls = 0;
    const gone = await mine!.updateRoom(room.id, (current) => {
      calls++;
      void mine!.deleteRoom(room.id);
      return { ...current, name: 'after-delete' };
    });
    assert.equal(gone, undefined);
    assert.equal(calls, 1);
    assert.equal(await other!.getRoom(room.id), undefined, 'the deleted room stays deleted');
  });

  it('TagResource calls spread over three nodes at once all keep their tags, beside an UpdateRoom', async () => {
    const fleet = await startFleet(redis);
    after(() => fleet.stop());
    const room = await createRoom(fleet[0]!);
    const keys = Array.from({ length: 30 }, (_, i) => `k${i}`);
    await Promise.all([
      ...keys.map((key, i) => fleet[i % 3]!.client.send(new TagResourceCommand({ resourceArn: room.arn, tags: { [key]: key } }))),
      fleet[1]!.client.send(new UpdateRoomCommand({ identifier: room.arn, name: 'renamed-meanwhile' })),
    ]);
    const seen = await fleet[2]!.client.send(new GetRoomCommand({ identifier: room.arn }));
    assert.deepEqual(seen.tags, Object.fromEntries(keys.map((key) => [key, key])), 'every node\'s tags are kept');
    assert.equal(seen.name, 'renamed-meanwhile');
  });

  it("a crashed node's connections stop counting against the fleet once it has not reported for the expiry", async () => {
    const clients = [new Redis(redis.url), new Redis(redis.url)];
    after(() => clients.forEach((client) => client.disconnect()));
    const options = { prefix: `crash-${Date.now()}:`, expiryMs: 500, reportIntervalMs: 100 };
    const crashed = new FleetConnections(clients[0]!, new RedisHealth(undefined, undefined), options);
    const survivor = new FleetConnections(clients[1]!, new RedisHealth(undefined, undefined), options);
    assert.equal(await crashed.reserve(2), true);
    assert.equal(await crashed.reserve(2), true);
    assert.equal(await survivor.reserve(2), false, 'the fleet is full while the other node reports');
    crashed.stopReporting();
    await eventually("the survivor gets a place once the crashed node's count expired", () => survivor.reserve(2), 10_000);
    await survivor.close();
  });

  it('while Redis is away store calls fail with 500 and local chat goes on; all works again when it returns, without a restart', async () => {
    const [a, b, c] = await startFleet(redis).then((fleet) => {
      after(() => fleet.stop());
      return fleet;
    });
    const room = await createRoom(a!);
    const sender = await RawChatSocket.connect(a!.wsUrl, (await createToken(a!, room.arn, 'sender')).token);
    // C holds the room live, so a handshake there during the outage gets as far as spending its token.
    const watcher = await RawChatSocket.connect(c!.wsUrl, (await createToken(c!, room.arn, 'watcher')).token);
    const { token: unused } = await createToken(b!, room.arn, 'late');

    await redis.kill();
    try {
      await expectApiError(b!.client.send(new GetRoomCommand({ identifier: room.arn })), InternalServerException);
      await expectApiError(c!.client.send(new CreateRoomCommand({})), InternalServerException);
      assert.equal(await refusal(c!.wsUrl, unused), 500, 'a token cannot be recorded as used: refused, not accepted twice');
      assert.ok((await metricValue(b!, 'chatstorm_redis_errors_total{use="store"}')) >= 1);
      assert.ok((await metricValue(c!, 'chatstorm_redis_errors_total{use="token"}')) >= 1);
      // Local fan-out is untouched: the room's rate falls back to this node's own bucket.
      sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'during-outage', Content: 'still here' }));
      const answer = await sender.waitFor((frame) => frame.RequestId === 'during-outage');
      assert.equal(answer.Type, 'MESSAGE', JSON.stringify(answer));
      assert.ok((await metricValue(a!, 'chatstorm_redis_errors_total{use="quota"}')) >= 1);
    } finally {
      await redis.start();
    }

    await eventually('GetRoom on B answers again', async () => {
      await b!.client.send(new GetRoomCommand({ identifier: room.arn }));
      return true;
    });
    const made = await c!.client.send(new CreateRoomCommand({ name: 'after-outage' }));
    await a!.client.send(new GetRoomCommand({ identifier: made.arn! }));
    // The refused handshake did not spend the token: it works once, and only once, after recovery.
    await eventually('C accepts the token refused during the outage', async () => {
      const socket = await RawChatSocket.connect(c!.wsUrl, unused);
      socket.close();
      return true;
    });
    assert.equal(await refusal(a!.wsUrl, unused), 401);
    sender.close();
    watcher.close();
  });
});

it('a node that cannot reach its Redis says which one, without the password', async () => {
  const { redisReady, createRedisClient } = await import('../src/redis/redis-client.ts');
  const { createLogger } = await import('../src/log.ts');
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  const url = 'redis://app:s3cret@127.0.0.1:1';
  const client = createRedisClient(url, createLogger('silent'));
  try {
    await assert.rejects(redisReady(client, url, 500), (error: Error) => {
      assert.match(error.message, /Redis at redis:\/\/app:\*\*\*@127\.0\.0\.1:1 is not reachable after 0\.5 s \(.*ECONNREFUSED/);
      assert.doesNotMatch(error.message, /s3cret/);
      return true;
    });
  } finally {
    client.disconnect();
  }
});
