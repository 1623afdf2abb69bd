import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DeleteMessageCommand,
  DeleteRoomCommand,
  DisconnectUserCommand,
  InternalServerException,
  SendEventCommand,
  UpdateRoomCommand,
} from '@aws-sdk/client-ivschat';
import { createRoom, createToken, DisconnectUserRequest, nextEvent, SendMessageRequest, type ChatRoomInstance } from './support/chat.ts';
import { expectApiError } from './support/control-plane.ts';
import { connectTo, eventually, shareRoom, startNodes } from './support/nodes.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { REDIS_SKIP, startRedis, type TestRedis } from './support/redis.ts';
import { ConfigError, loadConfig } from '../src/config.ts';
import type { TestServer } from './support/server.ts';
import { metricValue, within } from './support/within.ts';

interface ChatMessage {
  id: string;
  content: string;
  sender: { userId: string };
}
interface ChatErrorShape {
  errorCode: number;
  errorMessage: string;
}

/** Every MESSAGE content a room receives, in arrival order. */
function record(room: ChatRoomInstance): string[] {
  const seen: string[] = [];
  room.addListener('message', (message: ChatMessage) => seen.push(message.content));
  return seen;
}

const channel = (roomId: string) => `chatstorm:room:${roomId}`;
const idOf = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);

async function shardSubscribers(redis: TestRedis, roomId: string): Promise<number> {
  const reply = (await redis.client.call('PUBSUB', 'SHARDNUMSUB', channel(roomId))) as [string, number];
  return Number(reply[1]);
}

test('--redis-url takes a redis:// URL and names itself when given anything else', () => {
  assert.equal(loadConfig(['--redis-url', 'redis://127.0.0.1:6379'], {}).redisUrl, 'redis://127.0.0.1:6379');
  assert.equal(loadConfig([], { CHATSTORM_REDIS_URL: 'rediss://cache.internal:6380/1' }).redisUrl, 'rediss://cache.internal:6380/1');
  assert.equal(loadConfig([], {}).redisUrl, undefined, 'without it the node runs alone on the embedded bus');
  assert.throws(
    () => loadConfig(['--redis-url', '127.0.0.1:6379'], {}),
    (error: unknown) => error instanceof ConfigError && /--redis-url \/ CHATSTORM_REDIS_URL: a Redis URL such as redis:\/\/127\.0\.0\.1:6379/.test(error.message),
  );
});

describe('three nodes on one Redis: the cross-node bus', { skip: REDIS_SKIP }, () => {
  let redis: TestRedis;
  let nodes: TestServer[];
  let a: TestServer, b: TestServer, c: TestServer;
  const open: ChatRoomInstance[] = [];
  const connect = async (...args: Parameters<typeof connectTo>) => {
    const room = await connectTo(...args);
    open.push(room);
    return room;
  };
  const sharedRoom = async (input: Parameters<typeof createRoom>[1] = {}) => {
    const room = await createRoom(a, { maximumMessageRatePerSecond: 100, ...input });
    await shareRoom(nodes, room.arn);
    return room;
  };

  before(async () => {
    redis = await startRedis();
    nodes = await startNodes(3, redis.url);
    [a, b, c] = nodes as [TestServer, TestServer, TestServer];
  });
  after(async () => {
    for (const room of open) room.disconnect();
    for (const node of nodes ?? []) await node.stop();
    await redis?.stop();
  });

  test('viewers spread over the nodes each receive every message once and in order per sender', async () => {
    const { arn } = await sharedRoom();
    const senders = [await connect(a, arn, 's0'), await connect(b, arn, 's1'), await connect(c, arn, 's2')];
    const viewers = [...senders];
    for (const node of nodes) viewers.push(await connect(node, arn, 'viewer'), await connect(node, arn, 'viewer'));
    const seen = viewers.map(record);
    const ends = viewers.map(
      (viewer) =>
        new Promise<void>((resolve) => {
          let count = 0;
          viewer.addListener('message', (message: ChatMessage) => {
            if (message.content.endsWith(':end') && ++count === senders.length) resolve();
          });
        }),
    );
    const perSender = 15;
    await Promise.all(
      senders.map(async (sender, s) => {
        for (let i = 0; i < perSender; i++) await sender.sendMessage(new SendMessageRequest(`s${s}:${i}`));
        await sender.sendMessage(new SendMessageRequest(`s${s}:end`));
      }),
    );
    await within(Promise.all(ends), 10_000, 'every viewer received the three senders\' last messages');
    const expected = (s: number) => [...Array.from({ length: perSender }, (_, i) => `s${s}:${i}`), `s${s}:end`];
    seen.forEach((contents, v) => {
      for (let s = 0; s < senders.length; s++) {
        assert.deepEqual(
          contents.filter((content) => content.startsWith(`s${s}:`)),
          expected(s),
          `viewer ${v} got sender ${s}'s messages once each, in order`,
        );
      }
    });
  });

  test('DisconnectUser on node B (HTTP) closes the user\'s sockets on A and C, after the event', async () => {
    const { arn } = await sharedRoom();
    const trollOnA = await connect(a, arn, 'troll');
    const trollOnC = await connect(c, arn, 'troll');
    const bystander = await connect(a, arn, 'bystander');
    const order: string[] = [];
    for (const [name, room] of [['A', trollOnA], ['C', trollOnC]] as const) {
      room.addListener('userDisconnect', () => order.push(`${name}:event`));
      room.addListener('disconnect', (reason: string) => order.push(`${name}:${reason}`));
    }
    const closed = [trollOnA, trollOnC].map((room) => nextEvent<string>(room, 'disconnect'));
    const seenByBystander = nextEvent<{ userId: string; reason?: string }>(bystander, 'userDisconnect');
    await b.client.send(new DisconnectUserCommand({ roomIdentifier: arn, userId: 'troll', reason: 'be nice' }));
    assert.deepEqual(await Promise.all(closed), ['serverDisconnect', 'serverDisconnect']);
    assert.deepEqual(order.filter((o) => o.startsWith('A')), ['A:event', 'A:serverDisconnect'], 'on A the event came before the close');
    assert.deepEqual(order.filter((o) => o.startsWith('C')), ['C:event', 'C:serverDisconnect'], 'on C the event came before the close');
    const seen = await seenByBystander;
    assert.deepEqual([seen.userId, seen.reason], ['troll', 'be nice']);
    assert.equal(bystander.state, 'connected');
  });

  test('DISCONNECT_USER from a moderator on C (WebSocket) closes the user\'s sockets on A and B only', async () => {
    const { arn } = await sharedRoom();
    const moderator = await connect(c, arn, 'mod', ['DISCONNECT_USER']);
    const trolls = [await connect(a, arn, 'troll'), await connect(b, arn, 'troll')];
    const bystanders = [await connect(a, arn, 'bystander'), await connect(b, arn, 'bystander')];
    const closed = trolls.map((room) => nextEvent<string>(room, 'disconnect'));
    await moderator.disconnectUser(new DisconnectUserRequest('troll'));
    assert.deepEqual(await Promise.all(closed), ['serverDisconnect', 'serverDisconnect']);
    // The room still carries messages between the nodes afterwards.
    const heard = bystanders.map((room) => nextEvent<ChatMessage>(room, 'message'));
    await (await connect(c, arn, 'talker')).sendMessage(new SendMessageRequest('still here'));
    for (const message of await Promise.all(heard)) assert.equal(message.content, 'still here');
    assert.ok(bystanders.every((room) => room.state === 'connected'));
  });

  test('SendEvent on B and DeleteMessage on C (HTTP) reach viewers on every node exactly once', async () => {
    const { arn } = await sharedRoom();
    const viewers = [await connect(a, arn, 'va'), await connect(b, arn, 'vb'), await connect(c, arn, 'vc')];
    const counts = viewers.map((viewer) => {
      const count = { event: 0, messageDelete: 0 };
      viewer.addListener('event', () => count.event++);
      viewer.addListener('messageDelete', () => count.messageDelete++);
      return count;
    });
    const markers = viewers.map((viewer) => nextEvent<ChatMessage>(viewer, 'message'));
    await b.client.send(new SendEventCommand({ roomIdentifier: arn, eventName: 'app:poll', attributes: { q: 'yes?' } }));
    await c.client.send(new DeleteMessageCommand({ roomIdentifier: arn, id: 'AbCdEfGhIjKl', reason: 'spam' }));
    // Sent after both on C, carried on the same channel: once a viewer has it, it has had them.
    await c.client.send(new SendEventCommand({ roomIdentifier: arn, eventName: 'marker' }));
    await viewers[0]!.sendMessage(new SendMessageRequest('marker'));
    await within(Promise.all(markers), 5000, 'every viewer got the marker');
    assert.deepEqual(counts, [
      { event: 2, messageDelete: 1 },
      { event: 2, messageDelete: 1 },
      { event: 2, messageDelete: 1 },
    ]);
  });

  test('DeleteRoom on A closes the room\'s connections on B and C', async () => {
    const { arn } = await sharedRoom();
    const viewers = [await connect(b, arn, 'vb'), await connect(c, arn, 'vc')];
    const closed = viewers.map((room) => nextEvent<string>(room, 'disconnect'));
    await a.client.send(new DeleteRoomCommand({ identifier: arn }));
    assert.deepEqual(await Promise.all(closed), ['serverDisconnect', 'serverDisconnect']);
  });

  test('UpdateRoom on A takes effect on B\'s connected clients', async () => {
    const { arn } = await sharedRoom();
    const writer = await connect(b, arn, 'writer');
    const onA = await connect(a, arn, 'reader');
    // What a shared store would hold after the update, written on B before it: B's live room
    // keeps the settings it loaded until the update's event arrives.
    const record = (await b.ctx.store.getRoom(idOf(arn)))!;
    await b.ctx.store.putRoom({ ...record, maximumMessageLength: 5 });
    await writer.sendMessage(new SendMessageRequest('accepted before'));
    await a.client.send(new UpdateRoomCommand({ identifier: arn, maximumMessageLength: 5 }));
    // Published after the update on A's bus connection: when B delivers it, B has had the update.
    const marker = nextEvent<ChatMessage>(writer, 'message');
    await onA.sendMessage(new SendMessageRequest('mark'));
    await marker;
    await assert.rejects(writer.sendMessage(new SendMessageRequest('too long now')), (error: ChatErrorShape) => error.errorCode === 400);
  });

  test('a node listens to a room\'s channel only while it holds connections to it', async () => {
    const { arn, id } = await sharedRoom();
    assert.equal(await shardSubscribers(redis, id), 0, 'no node holds a viewer yet');
    const onA = await connect(a, arn, 'va');
    assert.equal(await shardSubscribers(redis, id), 1, 'A subscribed before its viewer was told it is connected');
    const onB = await connect(b, arn, 'vb');
    const alsoOnB = await connect(b, arn, 'vb2');
    assert.equal(await shardSubscribers(redis, id), 2, 'one subscription per node, however many viewers');
    onB.disconnect();
    alsoOnB.disconnect();
    await eventually(async () => (await shardSubscribers(redis, id)) === 1, 5000, 'B unsubscribed after its last viewer left');
    onA.disconnect();
    await eventually(async () => (await shardSubscribers(redis, id)) === 0, 5000, 'A unsubscribed after its last viewer left');
  });

  test('each message is published to Redis once, whatever the number of viewers and nodes', async () => {
    const { arn } = await sharedRoom();
    const sender = await connect(a, arn, 'sender');
    for (const node of nodes) await connect(node, arn, 'viewer');
    const before = await Promise.all(nodes.map((node) => metricValue(node, 'chatstorm_bus_published_total{type="MESSAGE"}')));
    const received = await Promise.all(nodes.map((node) => metricValue(node, 'chatstorm_bus_received_total{type="MESSAGE"}')));
    const arrived = nextEvent<ChatMessage>(open.at(-1)!, 'message');
    await sender.sendMessage(new SendMessageRequest('once'));
    await arrived;
    const published = async (i: number) => (await metricValue(nodes[i]!, 'chatstorm_bus_published_total{type="MESSAGE"}')) - before[i]!;
    // Counted once Redis acknowledged it, which may come just after the viewers have it.
    await eventually(async () => (await published(0)) === 1, 5000, 'A counted its publish');
    assert.deepEqual([await published(1), await published(2)], [0, 0], 'B and C published nothing');
    await eventually(
      async () => (await metricValue(b, 'chatstorm_bus_received_total{type="MESSAGE"}')) - received[1]! === 1,
      5000,
      'B counted the message it received',
    );
    assert.equal((await metricValue(a, 'chatstorm_bus_received_total{type="MESSAGE"}')) - received[0]!, 0, 'A did not receive its own publish back');
  });
});

describe('Redis stopped and restarted under two nodes', { skip: REDIS_SKIP }, () => {
  test('local fan-out goes on, cross-node sends fail with 500 and are counted, and all recovers without restarts', async () => {
    const redis = await startRedis();
    const nodes = await startNodes(2, redis.url);
    const [a, b] = nodes as [TestServer, TestServer];
    const open: ChatRoomInstance[] = [];
    try {
      const { arn, id } = await createRoom(a, { maximumMessageRatePerSecond: 100 });
      await shareRoom(nodes, arn);
      // A raw socket sends: the SDK resolves sendMessage on its own MESSAGE coming back, so it would
      // not show the ERROR that follows it when only this node got the message.
      const sender = await RawChatSocket.connect(a.wsUrl, (await createToken(a, arn, 'sender')).token);
      const localViewer = await connectTo(a, arn, 'local');
      const remoteViewer = await connectTo(b, arn, 'remote');
      open.push(localViewer, remoteViewer);
      const local = record(localViewer);
      const remote = record(remoteViewer);
      const send = (requestId: string, content: string) => sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: requestId, Content: content }));

      await redis.kill();
      await eventually(() => nodes.every((node) => node.ctx.metrics.probes.busConnected() === 0), 5000, 'both nodes saw Redis go');
      const failedBefore = await metricValue(a, 'chatstorm_bus_failed_total{type="MESSAGE"}');
      const heardLocally = nextEvent<ChatMessage>(localViewer, 'message');
      send('during', 'during');
      assert.equal((await heardLocally).content, 'during', 'the viewer on the same node still got it');
      const error = await sender.waitFor((frame) => frame.Type === 'ERROR' && frame.RequestId === 'during');
      assert.equal(error.ErrorCode, 500);
      assert.match(String(error.ErrorMessage), /this node only/);
      assert.equal((await metricValue(a, 'chatstorm_bus_failed_total{type="MESSAGE"}')) - failedBefore, 1, 'the failure is counted');
      // The control plane reads the room from the store, which is on the same Redis: SendEvent is
      // refused before anything is sent (the bus's own "this node only" answer needs the store up).
      await expectApiError(a.client.send(new SendEventCommand({ roomIdentifier: arn, eventName: 'app:during' })), InternalServerException);

      await redis.start();
      await eventually(() => nodes.every((node) => node.ctx.metrics.probes.busConnected() === 1), 10_000, 'both nodes reconnected');
      await eventually(async () => (await shardSubscribers(redis, id)) === 2, 10_000, 'both nodes listen to the room again');
      const afterOnB = nextEvent<ChatMessage>(remoteViewer, 'message');
      send('after', 'after');
      assert.equal((await afterOnB).content, 'after');
      const backOnA = nextEvent<ChatMessage>(localViewer, 'message');
      await remoteViewer.sendMessage(new SendMessageRequest('from B'));
      await backOnA;
      assert.deepEqual(remote, ['after', 'from B'], 'nothing from the outage was delivered late on B');
      assert.deepEqual(local, ['during', 'after', 'from B']);
      sender.close();
    } finally {
      for (const room of open) room.disconnect();
      for (const node of nodes) await node.stop();
      await redis.stop();
    }
  });
});
