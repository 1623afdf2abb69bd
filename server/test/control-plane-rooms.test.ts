import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateLoggingConfigurationCommand,
  CreateRoomCommand,
  DeleteRoomCommand,
  GetRoomCommand,
  ListRoomsCommand,
  ResourceNotFoundException,
  UpdateRoomCommand,
  ValidationException,
  type RoomSummary,
} from '@aws-sdk/client-ivschat';
import { createRoom, createToken } from './support/chat.ts';
import { clockPast, expectApiError } from './support/control-plane.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe('rooms through @aws-sdk/client-ivschat', () => {
  let server: TestServer;
  const sockets: RawChatSocket[] = [];
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await server.stop();
  });

  async function connect(roomArn: string, userId: string, capabilities: Parameters<typeof createToken>[3] = []) {
    const { token } = await createToken(server, roomArn, userId, capabilities);
    const socket = await RawChatSocket.connect(server.wsUrl, token);
    sockets.push(socket);
    return socket;
  }

  async function createLoggingConfiguration(bucketName: string) {
    const out = await server.client.send(new CreateLoggingConfigurationCommand({ destinationConfiguration: { s3: { bucketName } } }));
    return out.arn!;
  }

  test('CreateRoom without fields makes a room with the real defaults and an ARN of this region and account', async () => {
    const before = Date.now();
    const room = await server.client.send(new CreateRoomCommand({}));
    assert.match(room.id!, /^[a-zA-Z0-9]{12}$/);
    assert.equal(room.arn, `arn:aws:ivschat:us-east-1:123456789012:room/${room.id}`);
    assert.equal(room.name, '');
    assert.equal(room.maximumMessageRatePerSecond, 10);
    assert.equal(room.maximumMessageLength, 500);
    assert.equal(room.messageReviewHandler?.fallbackResult, 'ALLOW');
    assert.ok(!room.messageReviewHandler?.uri, 'no review handler unless one is given');
    assert.deepEqual(room.tags, {});
    assert.deepEqual(room.loggingConfigurationIdentifiers, []);
    assert.ok(room.createTime instanceof Date, 'the SDK parses createTime as a timestamp');
    assert.ok(room.createTime.getTime() >= before - 1000 && room.createTime.getTime() <= Date.now() + 1000);
    assert.deepEqual(room.updateTime, room.createTime);
  });

  test('ARNs carry the region and account the server is configured with', async () => {
    const other = await startTestServer(['--region', 'eu-central-1', '--account-id', '111122223333']);
    try {
      const room = await other.client.send(new CreateRoomCommand({}));
      assert.equal(room.arn, `arn:aws:ivschat:eu-central-1:111122223333:room/${room.id}`);
      const usEast = room.arn!.replace('eu-central-1', 'us-east-1').replace('111122223333', '123456789012');
      await expectApiError(other.client.send(new GetRoomCommand({ identifier: usEast })), ResourceNotFoundException);
    } finally {
      await other.stop();
    }
  });

  test('CreateRoom keeps every field it is given', async () => {
    const loggingArn = await createLoggingConfiguration('rooms-create');
    const room = await server.client.send(
      new CreateRoomCommand({
        name: 'launch-party_1',
        maximumMessageRatePerSecond: 42,
        maximumMessageLength: 120,
        messageReviewHandler: { uri: 'arn:aws:lambda:us-east-1:123456789012:function:review', fallbackResult: 'DENY' },
        tags: { team: 'live', stage: 'beta' },
        loggingConfigurationIdentifiers: [loggingArn],
      }),
    );
    assert.equal(room.name, 'launch-party_1');
    assert.equal(room.maximumMessageRatePerSecond, 42);
    assert.equal(room.maximumMessageLength, 120);
    assert.deepEqual(room.messageReviewHandler, { uri: 'arn:aws:lambda:us-east-1:123456789012:function:review', fallbackResult: 'DENY' });
    assert.deepEqual(room.tags, { team: 'live', stage: 'beta' });
    assert.deepEqual(room.loggingConfigurationIdentifiers, [loggingArn]);
  });

  test('CreateRoom refuses out-of-range lengths, rates and names with ValidationException naming the field', async () => {
    for (const [input, field] of [
      [{ maximumMessageLength: 0 }, 'maximumMessageLength'],
      [{ maximumMessageLength: 501 }, 'maximumMessageLength'],
      [{ maximumMessageRatePerSecond: 0 }, 'maximumMessageRatePerSecond'],
      [{ name: 'has space' }, 'name'],
      [{ name: 'n'.repeat(129) }, 'name'],
      [{ messageReviewHandler: { uri: 'ftp://example.com/review' } }, 'messageReviewHandler.uri'],
    ] as const) {
      const error = await expectApiError(server.client.send(new CreateRoomCommand(input)), ValidationException);
      assert.equal(error.reason, 'FIELD_VALIDATION_FAILED');
      assert.deepEqual(error.fieldList?.map((f) => f.name), [field], JSON.stringify(input));
    }
  });

  test('GetRoom returns what CreateRoom returned', async () => {
    const created = await server.client.send(new CreateRoomCommand({ name: 'get-me', tags: { k: 'v' } }));
    const got = await server.client.send(new GetRoomCommand({ identifier: created.arn }));
    const { $metadata: _created, ...expected } = created;
    const { $metadata: _got, ...actual } = got;
    assert.deepEqual(actual, expected);
  });

  test('UpdateRoom changes each field it is given and leaves the others', async () => {
    const { arn } = await createRoom(server, { name: 'before', tags: { keep: 'me' } });
    const loggingArn = await createLoggingConfiguration('rooms-update');
    const steps: Array<[Record<string, unknown>, (room: Awaited<ReturnType<typeof getRoom>>) => void]> = [
      [{ name: 'after' }, (r) => assert.equal(r.name, 'after')],
      [{ maximumMessageRatePerSecond: 3 }, (r) => assert.equal(r.maximumMessageRatePerSecond, 3)],
      [{ maximumMessageLength: 7 }, (r) => assert.equal(r.maximumMessageLength, 7)],
      [
        { messageReviewHandler: { uri: 'https://review.example.com/hook', fallbackResult: 'DENY' } },
        (r) => assert.deepEqual(r.messageReviewHandler, { uri: 'https://review.example.com/hook', fallbackResult: 'DENY' }),
      ],
      [{ loggingConfigurationIdentifiers: [loggingArn] }, (r) => assert.deepEqual(r.loggingConfigurationIdentifiers, [loggingArn])],
    ];
    let previousUpdate = 0;
    for (const [change, check] of steps) {
      await clockPast(previousUpdate);
      const updated = await server.client.send(new UpdateRoomCommand({ identifier: arn, ...change }));
      check(updated);
      const stored = await getRoom(arn);
      check(stored);
      assert.ok(stored.updateTime!.getTime() > previousUpdate, 'updateTime moves forward on every update');
      assert.ok(stored.updateTime!.getTime() >= stored.createTime!.getTime());
      previousUpdate = stored.updateTime!.getTime();
    }
    const final = await getRoom(arn);
    assert.equal(final.name, 'after');
    assert.equal(final.maximumMessageRatePerSecond, 3);
    assert.equal(final.maximumMessageLength, 7);
    assert.deepEqual(final.tags, { keep: 'me' }, 'UpdateRoom does not touch tags');
  });

  test('UpdateRoom with an empty review-handler uri removes the handler', async () => {
    const { arn } = await createRoom(server, { messageReviewHandler: { uri: 'https://review.example.com/hook', fallbackResult: 'DENY' } });
    const updated = await server.client.send(new UpdateRoomCommand({ identifier: arn, messageReviewHandler: { uri: '' } }));
    assert.ok(!updated.messageReviewHandler?.uri);
    assert.ok(!(await getRoom(arn)).messageReviewHandler?.uri);
  });

  test('UpdateRoom takes effect at once for clients already connected', async () => {
    const { arn } = await createRoom(server);
    const sender = await connect(arn, 'sender', ['SEND_MESSAGE']);
    await server.client.send(new UpdateRoomCommand({ identifier: arn, maximumMessageLength: 3 }));
    sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'too-long', Content: 'abcd' }));
    const refused = await sender.waitFor((frame) => frame.RequestId === 'too-long');
    assert.equal(refused.Type, 'ERROR');
    assert.equal(refused.ErrorCode, 400);
    sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'fits', Content: 'abc' }));
    assert.equal((await sender.waitFor((frame) => frame.RequestId === 'fits')).Type, 'MESSAGE');
  });

  test('UpdateRoom of an unknown room is a ResourceNotFoundException', async () => {
    const error = await expectApiError(
      server.client.send(new UpdateRoomCommand({ identifier: 'arn:aws:ivschat:us-east-1:123456789012:room/NoSuchRoom12', name: 'x' })),
      ResourceNotFoundException,
    );
    assert.equal(error.resourceType, 'ROOM');
  });

  test('DeleteRoom answers 204 and the room is gone', async () => {
    const { arn } = await createRoom(server);
    const out = await server.client.send(new DeleteRoomCommand({ identifier: arn }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    const error = await expectApiError(server.client.send(new GetRoomCommand({ identifier: arn })), ResourceNotFoundException);
    assert.equal(error.resourceId, arn);
    assert.equal(error.resourceType, 'ROOM');
    await expectApiError(server.client.send(new DeleteRoomCommand({ identifier: arn })), ResourceNotFoundException);
  });

  test('DeleteRoom of a room with a connected viewer succeeds and closes that viewer with 1000', async () => {
    const { arn } = await createRoom(server);
    const viewer = await connect(arn, 'viewer');
    await server.client.send(new DeleteRoomCommand({ identifier: arn }));
    assert.equal((await viewer.waitForClose()).code, 1000);
  });

  test('ListRooms filters by name, review-handler uri and logging configuration', async () => {
    const loggingArn = await createLoggingConfiguration('rooms-filter');
    const uri = 'https://review.example.com/filter-test';
    const named = await createRoom(server, { name: 'filter-by-name' });
    const alsoNamed = await createRoom(server, { name: 'filter-by-name' });
    const reviewed = await createRoom(server, { messageReviewHandler: { uri } });
    const logged = await createRoom(server, { loggingConfigurationIdentifiers: [loggingArn] });
    const arnsOf = async (filter: Record<string, string>) =>
      ((await server.client.send(new ListRoomsCommand(filter))).rooms ?? []).map((room) => room.arn).sort();
    assert.deepEqual(await arnsOf({ name: 'filter-by-name' }), [named.arn, alsoNamed.arn].sort());
    assert.deepEqual(await arnsOf({ messageReviewHandlerUri: uri }), [reviewed.arn]);
    assert.deepEqual(await arnsOf({ loggingConfigurationIdentifier: loggingArn }), [logged.arn]);
    assert.deepEqual(await arnsOf({ name: 'no-room-has-this-name' }), []);
  });

  test('ListRooms summaries carry arn, id, name, handler, times, tags and logging configurations', async () => {
    const { arn } = await createRoom(server, { name: 'summary-shape', tags: { a: 'b' } });
    const [summary] = (await server.client.send(new ListRoomsCommand({ name: 'summary-shape' }))).rooms!;
    const room = await getRoom(arn);
    assert.deepEqual(summary, {
      arn: room.arn,
      id: room.id,
      name: room.name,
      messageReviewHandler: room.messageReviewHandler,
      createTime: room.createTime,
      updateTime: room.updateTime,
      tags: room.tags,
      loggingConfigurationIdentifiers: room.loggingConfigurationIdentifiers,
    });
  });

  test('ListRooms lists the most recently updated room first', async () => {
    const first = await createRoom(server, { name: 'order-test' });
    await clockPast(Date.now());
    const second = await createRoom(server, { name: 'order-test' });
    const third = await createRoom(server, { name: 'order-test' });
    const list = async () => (await server.client.send(new ListRoomsCommand({ name: 'order-test' }))).rooms!.map((r) => r.arn);
    assert.equal((await list())[2], first.arn);
    await clockPast(Date.now());
    await server.client.send(new UpdateRoomCommand({ identifier: first.arn, maximumMessageLength: 100 }));
    const order = await list();
    assert.equal(order[0], first.arn, 'the updated room comes first');
    assert.deepEqual(order.slice(1).sort(), [second.arn, third.arn].sort());
  });

  test('ListRooms pages with maxResults and nextToken until the list is exhausted, each room once', async () => {
    const created = new Set<string>();
    for (let i = 0; i < 7; i++) created.add((await createRoom(server, { name: 'paged' })).arn);
    const seen: RoomSummary[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await server.client.send(new ListRoomsCommand({ name: 'paged', maxResults: 3, nextToken }));
      assert.ok(page.rooms!.length <= 3);
      seen.push(...page.rooms!);
      nextToken = page.nextToken;
      pages++;
      assert.ok(pages <= 5, 'pagination ends');
    } while (nextToken);
    assert.equal(pages, 3);
    assert.deepEqual(seen.map((r) => r.arn).sort(), [...created].sort());
    const times = seen.map((r) => r.updateTime!.getTime());
    assert.deepEqual(times, [...times].sort((a, b) => b - a), 'pages continue in newest-first order');
  });

  test('ListRooms refuses a nextToken it did not issue and maxResults outside 1..50', async () => {
    const bad = await expectApiError(server.client.send(new ListRoomsCommand({ nextToken: 'not-a-token' })), ValidationException);
    assert.deepEqual(bad.fieldList?.map((f) => f.name), ['nextToken']);
    for (const maxResults of [0, 51]) {
      const error = await expectApiError(server.client.send(new ListRoomsCommand({ maxResults })), ValidationException);
      assert.deepEqual(error.fieldList?.map((f) => f.name), ['maxResults']);
    }
  });

  test('ListRooms filtered by an unknown logging configuration is a ResourceNotFoundException', async () => {
    await expectApiError(
      server.client.send(new ListRoomsCommand({ loggingConfigurationIdentifier: 'arn:aws:ivschat:us-east-1:123456789012:logging-configuration/NoSuchConfig' })),
      ResourceNotFoundException,
    );
  });

  function getRoom(arn: string) {
    return server.client.send(new GetRoomCommand({ identifier: arn }));
  }
});
