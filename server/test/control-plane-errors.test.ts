import assert from 'node:assert/strict';
import { mkdir, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateChatTokenCommand,
  CreateRoomCommand,
  DeleteLoggingConfigurationCommand,
  DeleteRoomCommand,
  GetRoomCommand,
  InternalServerException,
  IvschatServiceException,
  ResourceNotFoundException,
  SendEventCommand,
  ServiceQuotaExceededException,
  ThrottlingException,
  UpdateRoomCommand,
  ValidationException,
} from '@aws-sdk/client-ivschat';
import { createRoom } from './support/chat.ts';
import { expectApiError } from './support/control-plane.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe('control-plane errors arrive as the typed exceptions of @aws-sdk/client-ivschat', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  test('an identifier that is a bare id instead of an ARN is a ValidationException naming the field', async () => {
    const { id } = await createRoom(server);
    for (const [call, field] of [
      [() => server.client.send(new GetRoomCommand({ identifier: id })), 'identifier'],
      [() => server.client.send(new DeleteRoomCommand({ identifier: id })), 'identifier'],
      [() => server.client.send(new CreateChatTokenCommand({ roomIdentifier: id, userId: 'u' })), 'roomIdentifier'],
      [() => server.client.send(new SendEventCommand({ roomIdentifier: id, eventName: 'e' })), 'roomIdentifier'],
      [() => server.client.send(new DeleteLoggingConfigurationCommand({ identifier: 'AbCdEfGh1234' })), 'identifier'],
    ] as const) {
      const error = await expectApiError(call(), ValidationException);
      assert.ok(error instanceof IvschatServiceException);
      assert.equal(error.$metadata.httpStatusCode, 400);
      assert.equal(error.$fault, 'client');
      assert.equal(error.reason, 'FIELD_VALIDATION_FAILED');
      assert.deepEqual(error.fieldList?.map((f) => f.name), [field]);
      assert.match(error.fieldList![0]!.message!, /ARN/);
      assert.match(error.message, new RegExp(field));
    }
  });

  test('a well-formed ARN of no room is a ResourceNotFoundException with resourceId and resourceType', async () => {
    const arn = 'arn:aws:ivschat:us-east-1:123456789012:room/NoSuchRoom12';
    const error = await expectApiError(server.client.send(new GetRoomCommand({ identifier: arn })), ResourceNotFoundException);
    assert.equal(error.$metadata.httpStatusCode, 404);
    assert.equal(error.resourceId, arn);
    assert.equal(error.resourceType, 'ROOM');
    assert.ok(error.message.length > 0);
  });

  test('a room ARN of another region or account is not found here', async () => {
    const { arn } = await createRoom(server);
    for (const foreign of [arn.replace('us-east-1', 'eu-west-1'), arn.replace('123456789012', '999999999999')]) {
      await expectApiError(server.client.send(new GetRoomCommand({ identifier: foreign })), ResourceNotFoundException);
    }
  });

  test('maximumMessageRatePerSecond over 100 is refused by default, on create and on update', async () => {
    const error = await expectApiError(server.client.send(new CreateRoomCommand({ maximumMessageRatePerSecond: 101 })), ValidationException);
    assert.deepEqual(error.fieldList?.map((f) => f.name), ['maximumMessageRatePerSecond']);
    const { arn } = await createRoom(server, { maximumMessageRatePerSecond: 100 });
    await expectApiError(server.client.send(new UpdateRoomCommand({ identifier: arn, maximumMessageRatePerSecond: 101 })), ValidationException);
    assert.equal((await server.client.send(new GetRoomCommand({ identifier: arn }))).maximumMessageRatePerSecond, 100);
  });

  test('a store write that fails is an InternalServerException, and the server serves again once it can write', async () => {
    // A directory where the store writes its temporary file makes that write fail (even as root).
    const blocker = join(server.dataDir, `store.json.${process.pid}.tmp`);
    await mkdir(blocker);
    try {
      const error = await expectApiError(server.client.send(new CreateRoomCommand({ name: 'unwritable' })), InternalServerException);
      assert.equal(error.$metadata.httpStatusCode, 500);
      assert.equal(error.$fault, 'server');
      assert.doesNotMatch(error.message, /EISDIR|\//, 'no internals leak into the message');
    } finally {
      await rmdir(blocker);
    }
    await createRoom(server, { name: 'writable-again' });
  });
});

describe('quotas and limits as typed exceptions', () => {
  test('with --api-quotas on, more than 5 GetRoom calls in a second are a ThrottlingException with limit 5', async () => {
    const server = await startTestServer(['--api-quotas', 'on']);
    try {
      const { arn } = await createRoom(server);
      const results = await Promise.allSettled(Array.from({ length: 20 }, () => server.client.send(new GetRoomCommand({ identifier: arn }))));
      const throttled = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      assert.ok(throttled.length >= 1, 'some calls are throttled');
      assert.ok(results.some((r) => r.status === 'fulfilled'), 'the first calls pass');
      for (const error of throttled) {
        assert.ok(error instanceof ThrottlingException, String(error));
        assert.equal(error.$metadata.httpStatusCode, 429);
        assert.equal(error.limit, 5);
        assert.equal(error.resourceId, arn);
        assert.equal(error.resourceType, 'ROOM');
      }
    } finally {
      await server.stop();
    }
  });

  test('with --api-quotas on, SendEvent is throttled past 100 calls a second', async () => {
    const server = await startTestServer(['--api-quotas', 'on']);
    try {
      const { arn } = await createRoom(server);
      const results = await Promise.allSettled(Array.from({ length: 250 }, () => server.client.send(new SendEventCommand({ roomIdentifier: arn, eventName: 'burst' }))));
      const throttled = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
      assert.ok(throttled.length >= 1);
      for (const error of throttled) {
        assert.ok(error instanceof ThrottlingException, String(error));
        assert.equal(error.limit, 100);
      }
    } finally {
      await server.stop();
    }
  });

  test('with --max-rooms 2, the third room is a ServiceQuotaExceededException with limit 2 until one is deleted', async () => {
    const server = await startTestServer(['--max-rooms', '2']);
    try {
      const first = await createRoom(server);
      await createRoom(server);
      const error = await expectApiError(server.client.send(new CreateRoomCommand({})), ServiceQuotaExceededException);
      assert.equal(error.$metadata.httpStatusCode, 402);
      assert.equal(error.limit, 2);
      assert.equal(error.resourceType, 'ROOM');
      await server.client.send(new DeleteRoomCommand({ identifier: first.arn }));
      await createRoom(server);
    } finally {
      await server.stop();
    }
  });

  test('with --bench, maximumMessageRatePerSecond over 100 is accepted', async () => {
    const server = await startTestServer(['--bench']);
    try {
      const room = await server.client.send(new CreateRoomCommand({ maximumMessageRatePerSecond: 5000 }));
      assert.equal(room.maximumMessageRatePerSecond, 5000);
      const updated = await server.client.send(new UpdateRoomCommand({ identifier: room.arn, maximumMessageRatePerSecond: 100_000 }));
      assert.equal(updated.maximumMessageRatePerSecond, 100_000);
    } finally {
      await server.stop();
    }
  });

  test('--max-room-message-rate sets the cap alone', async () => {
    const server = await startTestServer(['--max-room-message-rate', '1000']);
    try {
      await createRoom(server, { maximumMessageRatePerSecond: 1000 });
      await expectApiError(server.client.send(new CreateRoomCommand({ maximumMessageRatePerSecond: 1001 })), ValidationException);
    } finally {
      await server.stop();
    }
  });
});
