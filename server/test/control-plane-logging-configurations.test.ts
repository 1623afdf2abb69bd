import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  ConflictException,
  CreateLoggingConfigurationCommand,
  CreateRoomCommand,
  DeleteLoggingConfigurationCommand,
  DeleteMessageCommand,
  DisconnectUserCommand,
  GetLoggingConfigurationCommand,
  ListLoggingConfigurationsCommand,
  ResourceNotFoundException,
  SendEventCommand,
  ServiceQuotaExceededException,
  UpdateLoggingConfigurationCommand,
  UpdateRoomCommand,
  ValidationException,
  type DestinationConfiguration,
  type LoggingConfigurationSummary,
} from '@aws-sdk/client-ivschat';
import { createRoom, createToken } from './support/chat.ts';
import { clockPast, expectApiError, waitForFile } from './support/control-plane.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const UNKNOWN_CONFIGURATION = 'arn:aws:ivschat:us-east-1:123456789012:logging-configuration/NoSuchConfig';

describe('logging configurations through @aws-sdk/client-ivschat', () => {
  let server: TestServer;
  before(async () => {
    // Room for more than the quota of 10 across this file's tests: each test deletes what it made.
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  const created: string[] = [];
  async function createConfiguration(destinationConfiguration: DestinationConfiguration, extra: { name?: string; tags?: Record<string, string> } = {}) {
    const out = await server.client.send(new CreateLoggingConfigurationCommand({ destinationConfiguration, ...extra }));
    created.push(out.arn!);
    return out;
  }
  async function deleteAll() {
    for (const arn of created.splice(0)) {
      await server.client.send(new DeleteLoggingConfigurationCommand({ identifier: arn })).catch(() => undefined);
    }
  }

  test('CreateLoggingConfiguration takes one destination of each kind and reports it ACTIVE', async () => {
    for (const destinationConfiguration of [
      { s3: { bucketName: 'chat-audit.example-1' } },
      { cloudWatchLogs: { logGroupName: '/aws/ivschat/#room_logs-1.0' } },
      { firehose: { deliveryStreamName: 'chat_stream.v-1' } },
    ] as DestinationConfiguration[]) {
      const out = await createConfiguration(destinationConfiguration, { name: 'audit-1', tags: { owner: 'trust' } });
      assert.match(out.id!, /^[a-zA-Z0-9]{12}$/);
      assert.equal(out.arn, `arn:aws:ivschat:us-east-1:123456789012:logging-configuration/${out.id}`);
      assert.equal(out.state, 'ACTIVE');
      assert.equal(out.name, 'audit-1');
      assert.deepEqual(out.tags, { owner: 'trust' });
      assert.deepEqual(out.destinationConfiguration, destinationConfiguration);
      assert.ok(out.createTime instanceof Date);
      assert.deepEqual(out.updateTime, out.createTime);
      const { $metadata: _a, ...got } = await server.client.send(new GetLoggingConfigurationCommand({ identifier: out.arn }));
      const { $metadata: _b, ...expected } = out;
      assert.deepEqual(got, expected, 'GetLoggingConfiguration returns what Create returned');
    }
    await deleteAll();
  });

  test('a destination configuration needs exactly one of s3, cloudWatchLogs and firehose', async () => {
    for (const destinationConfiguration of [
      {},
      { s3: { bucketName: 'one-bucket' }, firehose: { deliveryStreamName: 'and-a-stream' } },
    ] as DestinationConfiguration[]) {
      const error = await expectApiError(server.client.send(new CreateLoggingConfigurationCommand({ destinationConfiguration })), ValidationException);
      assert.deepEqual(error.fieldList?.map((f) => f.name), ['destinationConfiguration']);
    }
  });

  test('destination names follow the real patterns and lengths', async () => {
    for (const [destinationConfiguration, field] of [
      [{ s3: { bucketName: 'Upper-Case' } }, 'destinationConfiguration.s3.bucketName'],
      [{ s3: { bucketName: 'ab' } }, 'destinationConfiguration.s3.bucketName'],
      [{ s3: { bucketName: 'b'.repeat(64) } }, 'destinationConfiguration.s3.bucketName'],
      [{ cloudWatchLogs: { logGroupName: 'has space' } }, 'destinationConfiguration.cloudWatchLogs.logGroupName'],
      [{ cloudWatchLogs: { logGroupName: 'g'.repeat(513) } }, 'destinationConfiguration.cloudWatchLogs.logGroupName'],
      [{ firehose: { deliveryStreamName: 'no/slash' } }, 'destinationConfiguration.firehose.deliveryStreamName'],
      [{ firehose: { deliveryStreamName: 's'.repeat(65) } }, 'destinationConfiguration.firehose.deliveryStreamName'],
    ] as Array<[DestinationConfiguration, string]>) {
      const error = await expectApiError(server.client.send(new CreateLoggingConfigurationCommand({ destinationConfiguration })), ValidationException);
      assert.deepEqual(error.fieldList?.map((f) => f.name), [field], JSON.stringify(destinationConfiguration));
    }
  });

  test('UpdateLoggingConfiguration changes the name and the destination, stays ACTIVE and moves updateTime', async () => {
    const original = await createConfiguration({ s3: { bucketName: 'before-update' } }, { name: 'before' });
    await clockPast(original.updateTime!.getTime());
    const updated = await server.client.send(
      new UpdateLoggingConfigurationCommand({ identifier: original.arn, name: 'after', destinationConfiguration: { firehose: { deliveryStreamName: 'after-update' } } }),
    );
    assert.equal(updated.name, 'after');
    assert.deepEqual(updated.destinationConfiguration, { firehose: { deliveryStreamName: 'after-update' } });
    assert.equal(updated.state, 'ACTIVE');
    assert.deepEqual(updated.createTime, original.createTime);
    assert.ok(updated.updateTime!.getTime() > original.updateTime!.getTime());
    const renamedOnly = await server.client.send(new UpdateLoggingConfigurationCommand({ identifier: original.arn, name: 'again' }));
    assert.deepEqual(renamedOnly.destinationConfiguration, { firehose: { deliveryStreamName: 'after-update' } }, 'a missing destination is left as it was');
    await expectApiError(server.client.send(new UpdateLoggingConfigurationCommand({ identifier: UNKNOWN_CONFIGURATION, name: 'x' })), ResourceNotFoundException);
    await deleteAll();
  });

  test('ListLoggingConfigurations pages with maxResults and nextToken, newest first, each once', async () => {
    for (let i = 0; i < 5; i++) await createConfiguration({ firehose: { deliveryStreamName: `page-${i}` } });
    const seen: LoggingConfigurationSummary[] = [];
    let nextToken: string | undefined;
    let pages = 0;
    do {
      const page = await server.client.send(new ListLoggingConfigurationsCommand({ maxResults: 2, nextToken }));
      assert.ok(page.loggingConfigurations!.length <= 2);
      seen.push(...page.loggingConfigurations!);
      nextToken = page.nextToken;
      assert.ok(++pages <= 4, 'pagination ends');
    } while (nextToken);
    assert.equal(pages, 3);
    assert.deepEqual(seen.map((c) => c.arn).sort(), [...created].sort());
    assert.ok(seen.every((c) => c.state === 'ACTIVE' && c.destinationConfiguration?.firehose));
    const times = seen.map((c) => c.updateTime!.getTime());
    assert.deepEqual(times, [...times].sort((a, b) => b - a));
    await expectApiError(server.client.send(new ListLoggingConfigurationsCommand({ nextToken: 'forged' })), ValidationException);
    await deleteAll();
  });

  test('DeleteLoggingConfiguration answers 204 and the configuration is gone', async () => {
    const { arn } = await createConfiguration({ s3: { bucketName: 'to-delete' } });
    const out = await server.client.send(new DeleteLoggingConfigurationCommand({ identifier: arn }));
    assert.equal(out.$metadata.httpStatusCode, 204);
    const error = await expectApiError(server.client.send(new GetLoggingConfigurationCommand({ identifier: arn })), ResourceNotFoundException);
    assert.equal(error.resourceId, arn);
    await expectApiError(server.client.send(new DeleteLoggingConfigurationCommand({ identifier: arn })), ResourceNotFoundException);
  });

  test('deleting a configuration a room uses is a ConflictException until the room lets go of it', async () => {
    const configuration = await createConfiguration({ s3: { bucketName: 'in-use' } });
    const room = await createRoom(server, { loggingConfigurationIdentifiers: [configuration.arn!] });
    const error = await expectApiError(server.client.send(new DeleteLoggingConfigurationCommand({ identifier: configuration.arn })), ConflictException);
    assert.equal(error.resourceId, configuration.id);
    assert.equal(error.resourceType, 'ROOM');
    assert.match(error.message, new RegExp(room.id));
    await server.client.send(new UpdateRoomCommand({ identifier: room.arn, loggingConfigurationIdentifiers: [] }));
    await server.client.send(new DeleteLoggingConfigurationCommand({ identifier: configuration.arn }));
    created.length = 0;
  });

  test('a room naming an unknown configuration is a ResourceNotFoundException, on create and on update', async () => {
    const error = await expectApiError(server.client.send(new CreateRoomCommand({ loggingConfigurationIdentifiers: [UNKNOWN_CONFIGURATION] })), ResourceNotFoundException);
    assert.equal(error.resourceId, UNKNOWN_CONFIGURATION);
    const room = await createRoom(server);
    await expectApiError(server.client.send(new UpdateRoomCommand({ identifier: room.arn, loggingConfigurationIdentifiers: [UNKNOWN_CONFIGURATION] })), ResourceNotFoundException);
  });

  test('a room names at most three configurations, each once', async () => {
    const arns: string[] = [];
    for (let i = 0; i < 4; i++) arns.push((await createConfiguration({ firehose: { deliveryStreamName: `limit-${i}` } })).arn!);
    const room = await server.client.send(new CreateRoomCommand({ loggingConfigurationIdentifiers: arns.slice(0, 3) }));
    assert.deepEqual(room.loggingConfigurationIdentifiers, arns.slice(0, 3));
    for (const loggingConfigurationIdentifiers of [arns, [arns[0]!, arns[0]!]]) {
      const error = await expectApiError(server.client.send(new CreateRoomCommand({ loggingConfigurationIdentifiers })), ValidationException);
      assert.deepEqual(error.fieldList?.map((f) => f.name), ['loggingConfigurationIdentifiers']);
      await expectApiError(server.client.send(new UpdateRoomCommand({ identifier: room.arn, loggingConfigurationIdentifiers })), ValidationException);
    }
    await server.client.send(new UpdateRoomCommand({ identifier: room.arn!, loggingConfigurationIdentifiers: [] }));
    await deleteAll();
  });

  test('an account holds at most 10 logging configurations: the 11th is a ServiceQuotaExceededException', async () => {
    const own = await startTestServer();
    try {
      for (let i = 0; i < 10; i++) {
        await own.client.send(new CreateLoggingConfigurationCommand({ destinationConfiguration: { firehose: { deliveryStreamName: `quota-${i}` } } }));
      }
      const error = await expectApiError(
        own.client.send(new CreateLoggingConfigurationCommand({ destinationConfiguration: { firehose: { deliveryStreamName: 'quota-10' } } })),
        ServiceQuotaExceededException,
      );
      assert.equal(error.limit, 10);
      assert.equal(error.resourceType, 'ROOM');
      const [first] = (await own.client.send(new ListLoggingConfigurationsCommand({ maxResults: 1 }))).loggingConfigurations!;
      await own.client.send(new DeleteLoggingConfigurationCommand({ identifier: first!.arn }));
      await own.client.send(new CreateLoggingConfigurationCommand({ destinationConfiguration: { firehose: { deliveryStreamName: 'quota-freed' } } }));
    } finally {
      await own.stop();
    }
  });
});

describe('logging configurations record what rooms deliver', () => {
  let server: TestServer;
  const sockets: RawChatSocket[] = [];
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await server.stop();
  });

  const recordsOf = (content: string) =>
    content
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { event_timestamp: string; type: string; version: string; payload: Record<string, unknown> });
  const s3File = (bucket: string, roomId: string) => join(server.dataDir, 'logs', 's3', bucket, `${roomId}.jsonl`);
  const holdsId = (id: string) => (content: string) => recordsOf(content).some((record) => record.payload.Id === id);

  async function loggedRoom(bucketName: string) {
    const configuration = await server.client.send(new CreateLoggingConfigurationCommand({ destinationConfiguration: { s3: { bucketName } } }));
    const room = await createRoom(server, { loggingConfigurationIdentifiers: [configuration.arn!] });
    return { configurationArn: configuration.arn!, ...room };
  }

  test('a SendEvent to a room with an s3 configuration is written as a JSON line whose payload is the frame viewers got', async () => {
    const room = await loggedRoom('events-bucket');
    const viewer = await RawChatSocket.connect(server.wsUrl, (await createToken(server, room.arn, 'viewer', [])).token);
    sockets.push(viewer);
    const out = await server.client.send(new SendEventCommand({ roomIdentifier: room.arn, eventName: 'app:goal', attributes: { score: '1-0' } }));
    const frame = await viewer.waitFor((f) => f.Id === out.id);
    const content = await waitForFile(s3File('events-bucket', room.id), holdsId(out.id!));
    const record = recordsOf(content).find((r) => r.payload.Id === out.id)!;
    assert.deepEqual(Object.keys(record), ['event_timestamp', 'type', 'version', 'payload']);
    assert.equal(record.type, 'EVENT');
    assert.equal(typeof record.version, 'string');
    assert.ok(!Number.isNaN(Date.parse(record.event_timestamp)));
    assert.equal(JSON.stringify(record.payload), JSON.stringify(frame), 'the payload is the frame, field for field and in order');
  });

  test('a message sent over the WebSocket is recorded as type MESSAGE', async () => {
    const room = await loggedRoom('messages-bucket');
    const sender = await RawChatSocket.connect(server.wsUrl, (await createToken(server, room.arn, 'sender', ['SEND_MESSAGE'])).token);
    sockets.push(sender);
    sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'logged-1', Content: 'for the record' }));
    const frame = await sender.waitFor((f) => f.RequestId === 'logged-1' && f.Type === 'MESSAGE');
    const content = await waitForFile(s3File('messages-bucket', room.id), holdsId(frame.Id as string));
    const record = recordsOf(content).find((r) => r.payload.Id === frame.Id)!;
    assert.equal(record.type, 'MESSAGE');
    assert.deepEqual(record.payload, frame);
  });

  test('DeleteMessage and DisconnectUser are recorded too, even with nobody connected', async () => {
    const room = await loggedRoom('moderation-bucket');
    const deleted = await server.client.send(new DeleteMessageCommand({ roomIdentifier: room.arn, id: 'Recorded1234' }));
    await server.client.send(new DisconnectUserCommand({ roomIdentifier: room.arn, userId: 'gone', reason: 'rude' }));
    const isDisconnect = (r: { payload: Record<string, unknown> }) => r.payload.EventName === 'aws:DISCONNECT_USER';
    const records = recordsOf(await waitForFile(s3File('moderation-bucket', room.id), (content) => recordsOf(content).some(isDisconnect)));
    assert.deepEqual(
      records.map((r) => [r.type, r.payload.EventName, r.payload.Attributes]),
      [
        ['EVENT', 'aws:DELETE_MESSAGE', { MessageId: 'Recorded1234', MessageID: 'Recorded1234' }],
        ['EVENT', 'aws:DISCONNECT_USER', { UserId: 'gone', Reason: 'rude' }],
      ],
    );
    assert.equal(records[0]!.payload.Id, deleted.id);
  });

  // A destination file is written in order: once a later record is there, an earlier one would be too.
  test('a new destination of a configuration takes effect at once for the rooms that use it', async () => {
    const room = await loggedRoom('first-bucket');
    const send = async (eventName: string) => (await server.client.send(new SendEventCommand({ roomIdentifier: room.arn, eventName }))).id!;
    const point = (bucketName: string) =>
      server.client.send(new UpdateLoggingConfigurationCommand({ identifier: room.configurationArn, destinationConfiguration: { s3: { bucketName } } }));
    const first = await send('to-first');
    await point('second-bucket');
    const second = await send('to-second');
    await waitForFile(s3File('second-bucket', room.id), holdsId(second));
    await point('first-bucket');
    const third = await send('to-first-again');
    const firstFile = recordsOf(await waitForFile(s3File('first-bucket', room.id), holdsId(third))).map((r) => r.payload.Id);
    assert.deepEqual(firstFile, [first, third]);
  });

  test('a room that lets go of its configuration stops recording, and records again once it names it', async () => {
    const room = await loggedRoom('detach-bucket');
    const send = async (eventName: string) => (await server.client.send(new SendEventCommand({ roomIdentifier: room.arn, eventName }))).id!;
    const before = await send('recorded');
    await server.client.send(new UpdateRoomCommand({ identifier: room.arn, loggingConfigurationIdentifiers: [] }));
    await send('not-recorded');
    await server.client.send(new UpdateRoomCommand({ identifier: room.arn, loggingConfigurationIdentifiers: [room.configurationArn] }));
    const after = await send('recorded-again');
    const ids = recordsOf(await waitForFile(s3File('detach-bucket', room.id), holdsId(after))).map((r) => r.payload.Id);
    assert.deepEqual(ids, [before, after]);
  });
});
