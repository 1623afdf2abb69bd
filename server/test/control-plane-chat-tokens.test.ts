import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CreateChatTokenCommand, DeleteRoomCommand, ResourceNotFoundException, ValidationException } from '@aws-sdk/client-ivschat';
import { createRoom, createToken } from './support/chat.ts';
import { expectApiError, rawRequest } from './support/control-plane.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const MINUTE = 60_000;

describe('CreateChatToken through @aws-sdk/client-ivschat', () => {
  let server: TestServer;
  let roomArn: string;
  const sockets: RawChatSocket[] = [];
  before(async () => {
    server = await startTestServer();
    roomArn = (await createRoom(server)).arn;
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await server.stop();
  });

  async function connect(token: string) {
    const socket = await RawChatSocket.connect(server.wsUrl, token);
    sockets.push(socket);
    return socket;
  }

  test('a token opens the WebSocket once; the same token is refused the second time', async () => {
    const { token } = await createToken(server, roomArn, 'once');
    const socket = await connect(token);
    socket.close();
    await socket.waitForClose();
    await assert.rejects(connect(token), (error: { status?: number }) => error.status === 401);
  });

  test('by default the session lasts 60 minutes and the token expires with it', async () => {
    const before = Date.now();
    const out = await server.client.send(new CreateChatTokenCommand({ roomIdentifier: roomArn, userId: 'defaults' }));
    const after = Date.now();
    assert.match(out.token!, /^\S+$/);
    assert.ok(out.sessionExpirationTime instanceof Date && out.tokenExpirationTime instanceof Date);
    const session = out.sessionExpirationTime.getTime();
    assert.ok(session >= before + 60 * MINUTE && session <= after + 60 * MINUTE, `session ends 60 min from now, got ${out.sessionExpirationTime.toISOString()}`);
    assert.equal(out.tokenExpirationTime.getTime(), session, 'the token lifetime (60 min) is capped by the session');
  });

  test('sessionDurationInMinutes sets the session end, from 1 to 180 minutes', async () => {
    for (const minutes of [1, 180]) {
      const before = Date.now();
      const { sessionExpirationTime, tokenExpirationTime } = await createToken(server, roomArn, 'duration', [], { sessionDurationInMinutes: minutes });
      const session = sessionExpirationTime.getTime();
      assert.ok(session >= before + minutes * MINUTE && session <= Date.now() + minutes * MINUTE, `${minutes} min`);
      assert.ok(tokenExpirationTime.getTime() <= session, 'a token never outlives its session');
      assert.ok(tokenExpirationTime.getTime() >= Math.min(session, before + 60 * MINUTE), 'the token lives 60 min unless the session is shorter');
    }
  });

  test('sessionDurationInMinutes outside 1..180 is a ValidationException on that field', async () => {
    for (const sessionDurationInMinutes of [0, 181, 1.5]) {
      const error = await expectApiError(
        server.client.send(new CreateChatTokenCommand({ roomIdentifier: roomArn, userId: 'u', sessionDurationInMinutes })),
        ValidationException,
      );
      assert.deepEqual(error.fieldList?.map((f) => f.name), ['sessionDurationInMinutes'], String(sessionDurationInMinutes));
    }
  });

  test('userId must be 1 to 128 characters', async () => {
    for (const userId of ['', 'u'.repeat(129)]) {
      const error = await expectApiError(server.client.send(new CreateChatTokenCommand({ roomIdentifier: roomArn, userId })), ValidationException);
      assert.deepEqual(error.fieldList?.map((f) => f.name), ['userId']);
    }
    await createToken(server, roomArn, 'u'.repeat(128));
  });

  test('attributes up to 1 KB in total are carried to the sender of every message', async () => {
    const attributes = { nick: 'n'.repeat(1020) }; // 4 + 1020 bytes: exactly 1 KB
    const { token } = await createToken(server, roomArn, 'attributed', ['SEND_MESSAGE'], { attributes });
    const socket = await connect(token);
    socket.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'a1', Content: 'hi' }));
    const message = await socket.waitFor((frame) => frame.RequestId === 'a1');
    assert.deepEqual(message.Sender, { UserId: 'attributed', Attributes: attributes });
  });

  test('attributes over 1 KB in total are a ValidationException on attributes', async () => {
    const error = await expectApiError(
      server.client.send(new CreateChatTokenCommand({ roomIdentifier: roomArn, userId: 'u', attributes: { a: 'x'.repeat(600), b: 'y'.repeat(600) } })),
      ValidationException,
    );
    assert.equal(error.reason, 'FIELD_VALIDATION_FAILED');
    assert.deepEqual(error.fieldList?.map((f) => f.name), ['attributes']);
  });

  test('capabilities decide which actions the connection may take', async () => {
    const viewer = await connect((await createToken(server, roomArn, 'viewer', [])).token);
    viewer.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'v1', Content: 'hi' }));
    const refused = await viewer.waitFor((frame) => frame.RequestId === 'v1');
    assert.equal(refused.Type, 'ERROR');
    assert.equal(refused.ErrorCode, 403);

    const moderator = await connect((await createToken(server, roomArn, 'moderator', ['DELETE_MESSAGE', 'DISCONNECT_USER'])).token);
    moderator.send(JSON.stringify({ Action: 'DELETE_MESSAGE', RequestId: 'm1', Id: 'AbCdEfGh1234' }));
    const deleted = await moderator.waitFor((frame) => frame.RequestId === 'm1');
    assert.equal(deleted.Type, 'EVENT');
    assert.equal(deleted.EventName, 'aws:DELETE_MESSAGE');
    moderator.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'm2', Content: 'hi' }));
    assert.equal((await moderator.waitFor((frame) => frame.RequestId === 'm2')).ErrorCode, 403, 'DELETE_MESSAGE does not imply SEND_MESSAGE');
  });

  test('an unknown capability is a ValidationException', async () => {
    const answer = await rawRequest(
      server,
      'POST',
      '/CreateChatToken',
      JSON.stringify({ roomIdentifier: roomArn, userId: 'u', capabilities: ['SEND_MESSAGE', 'BAN_EVERYONE'] }),
    );
    assert.equal(answer.status, 400);
    assert.equal(answer.errorType, 'ValidationException');
    assert.deepEqual((answer.body?.fieldList as Array<{ name: string }>).map((f) => f.name), ['capabilities.1']);
  });

  test('a token for an unknown or deleted room is a ResourceNotFoundException', async () => {
    const { arn } = await createRoom(server);
    await server.client.send(new DeleteRoomCommand({ identifier: arn }));
    const error = await expectApiError(server.client.send(new CreateChatTokenCommand({ roomIdentifier: arn, userId: 'u' })), ResourceNotFoundException);
    assert.equal(error.resourceId, arn);
    assert.equal(error.resourceType, 'ROOM');
  });

  test('--token-lifetime-seconds shortens the token, not the session', async () => {
    const shortLived = await startTestServer(['--token-lifetime-seconds', '90']);
    try {
      const { arn } = await createRoom(shortLived);
      const before = Date.now();
      const { tokenExpirationTime, sessionExpirationTime } = await createToken(shortLived, arn, 'u', [], { sessionDurationInMinutes: 30 });
      const token = tokenExpirationTime.getTime();
      assert.ok(token >= before + 90_000 && token <= Date.now() + 90_000, `token ends 90 s from now, got ${tokenExpirationTime.toISOString()}`);
      assert.ok(sessionExpirationTime.getTime() >= before + 30 * MINUTE);
    } finally {
      await shortLived.stop();
    }
  });
});
