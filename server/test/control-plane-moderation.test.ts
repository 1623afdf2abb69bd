import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  DeleteMessageCommand,
  DisconnectUserCommand,
  ResourceNotFoundException,
  SendEventCommand,
  ValidationException,
} from '@aws-sdk/client-ivschat';
import { connectChatRoom, createRoom, createToken, nextEvent, type ChatRoomInstance } from './support/chat.ts';
import { expectApiError } from './support/control-plane.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const ID = /^[a-zA-Z0-9]{12}$/;
const UNKNOWN_ROOM = 'arn:aws:ivschat:us-east-1:123456789012:room/NoSuchRoom12';

describe('SendEvent, DeleteMessage and DisconnectUser through @aws-sdk/client-ivschat', () => {
  let server: TestServer;
  const sockets: RawChatSocket[] = [];
  const chatRooms: ChatRoomInstance[] = [];
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    for (const room of chatRooms) room.disconnect();
    await server.stop();
  });

  async function viewer(roomArn: string, userId: string) {
    const socket = await RawChatSocket.connect(server.wsUrl, (await createToken(server, roomArn, userId, [])).token);
    sockets.push(socket);
    return socket;
  }

  test('SendEvent reaches every connected viewer as an EVENT with RequestId "" and the given name and attributes', async () => {
    const { arn } = await createRoom(server);
    const [alice, bob] = [await viewer(arn, 'alice'), await viewer(arn, 'bob')];
    const before = Date.now();
    const out = await server.client.send(new SendEventCommand({ roomIdentifier: arn, eventName: 'app:poll', attributes: { question: 'tea?' } }));
    assert.match(out.id!, ID);
    for (const socket of [alice, bob]) {
      const event = await socket.waitFor((frame) => frame.Id === out.id);
      assert.deepEqual(Object.keys(event), ['Type', 'Id', 'RequestId', 'EventName', 'Attributes', 'SendTime']);
      assert.equal(event.Type, 'EVENT');
      assert.equal(event.RequestId, '');
      assert.equal(event.EventName, 'app:poll');
      assert.deepEqual(event.Attributes, { question: 'tea?' });
      assert.ok(Date.parse(event.SendTime as string) >= before - 1000);
    }
  });

  test('SendEvent reaches the official messaging SDK as an "event"', async () => {
    const { arn } = await createRoom(server);
    const room = await connectChatRoom(server, arn, 'sdk-viewer', []);
    chatRooms.push(room);
    const received = nextEvent<{ id: string; eventName: string; attributes?: Record<string, string> }>(room, 'event');
    const out = await server.client.send(new SendEventCommand({ roomIdentifier: arn, eventName: 'app:confetti', attributes: { color: 'gold' } }));
    const event = await received;
    assert.equal(event.id, out.id);
    assert.equal(event.eventName, 'app:confetti');
    assert.deepEqual(event.attributes, { color: 'gold' });
  });

  test('SendEvent refuses an event name outside 1..100 characters and attributes over 1 KB', async () => {
    const { arn } = await createRoom(server);
    for (const [input, field] of [
      [{ eventName: '' }, 'eventName'],
      [{ eventName: 'e'.repeat(101) }, 'eventName'],
      [{ eventName: 'big', attributes: { a: 'x'.repeat(1024) } }, 'attributes'],
    ] as const) {
      const error = await expectApiError(server.client.send(new SendEventCommand({ roomIdentifier: arn, ...input })), ValidationException);
      assert.deepEqual(error.fieldList?.map((f) => f.name), [field]);
    }
    await expectApiError(server.client.send(new SendEventCommand({ roomIdentifier: UNKNOWN_ROOM, eventName: 'x' })), ResourceNotFoundException);
  });

  test('DeleteMessage answers with a 12-character id and viewers get aws:DELETE_MESSAGE with MessageId and MessageID', async () => {
    const { arn } = await createRoom(server);
    const [sender, watcher] = [await viewer(arn, 'w1'), await viewer(arn, 'w2')];
    const out = await server.client.send(new DeleteMessageCommand({ roomIdentifier: arn, id: 'MsgToDelete1', reason: 'spam' }));
    assert.match(out.id!, ID);
    for (const socket of [sender, watcher]) {
      const event = await socket.waitFor((frame) => frame.Id === out.id);
      assert.equal(event.Type, 'EVENT');
      assert.equal(event.RequestId, '');
      assert.equal(event.EventName, 'aws:DELETE_MESSAGE');
      assert.deepEqual(event.Attributes, { MessageId: 'MsgToDelete1', MessageID: 'MsgToDelete1', Reason: 'spam' });
    }
  });

  test('DeleteMessage reaches the official messaging SDK as "messageDelete" with the message id', async () => {
    const { arn } = await createRoom(server);
    const room = await connectChatRoom(server, arn, 'sdk-watcher', []);
    chatRooms.push(room);
    const received = nextEvent<{ id: string; messageId: string; reason?: string }>(room, 'messageDelete');
    const out = await server.client.send(new DeleteMessageCommand({ roomIdentifier: arn, id: 'SdkMessage12' }));
    const event = await received;
    assert.equal(event.id, out.id);
    assert.equal(event.messageId, 'SdkMessage12');
    assert.equal(event.reason, undefined);
  });

  test('DeleteMessage refuses an id that is not 12 characters [a-zA-Z0-9], such as a UUID, and an empty reason', async () => {
    const { arn } = await createRoom(server);
    for (const id of [crypto.randomUUID(), 'short', 'has-dash-123']) {
      const error = await expectApiError(server.client.send(new DeleteMessageCommand({ roomIdentifier: arn, id })), ValidationException);
      assert.deepEqual(error.fieldList?.map((f) => f.name), ['id'], id);
    }
    const error = await expectApiError(server.client.send(new DeleteMessageCommand({ roomIdentifier: arn, id: 'AbCdEfGh1234', reason: '' })), ValidationException);
    assert.deepEqual(error.fieldList?.map((f) => f.name), ['reason']);
    await expectApiError(server.client.send(new DeleteMessageCommand({ roomIdentifier: UNKNOWN_ROOM, id: 'AbCdEfGh1234' })), ResourceNotFoundException);
  });

  test('DisconnectUser sends aws:DISCONNECT_USER, then closes every socket of that user with 1000 and no one else', async () => {
    const { arn } = await createRoom(server);
    const [first, second, bystander] = [await viewer(arn, 'troll'), await viewer(arn, 'troll'), await viewer(arn, 'bystander')];
    const out = await server.client.send(new DisconnectUserCommand({ roomIdentifier: arn, userId: 'troll', reason: 'be nice' }));
    assert.deepEqual({ ...out, $metadata: undefined }, { $metadata: undefined });
    for (const socket of [first, second]) {
      const event = await socket.waitFor((frame) => frame.EventName === 'aws:DISCONNECT_USER');
      assert.equal(event.RequestId, '');
      assert.deepEqual(event.Attributes, { UserId: 'troll', Reason: 'be nice' });
      assert.equal((await socket.waitForClose()).code, 1000);
    }
    await bystander.waitFor((frame) => frame.EventName === 'aws:DISCONNECT_USER');
    const after = await server.client.send(new SendEventCommand({ roomIdentifier: arn, eventName: 'still-here' }));
    await bystander.waitFor((frame) => frame.Id === after.id);
    assert.equal(bystander.closeCode, undefined, 'the other user stays connected');
  });

  test('DisconnectUser reaches the official messaging SDK as "userDisconnect", then a server disconnect', async () => {
    const { arn } = await createRoom(server);
    const room = await connectChatRoom(server, arn, 'sdk-user', []);
    chatRooms.push(room);
    const event = nextEvent<{ userId: string; reason?: string }>(room, 'userDisconnect');
    const disconnected = nextEvent<string>(room, 'disconnect');
    await server.client.send(new DisconnectUserCommand({ roomIdentifier: arn, userId: 'sdk-user', reason: 'bye' }));
    assert.deepEqual({ ...(await event), id: undefined, sendTime: undefined }, {
      id: undefined,
      sendTime: undefined,
      userId: 'sdk-user',
      reason: 'bye',
      requestId: '',
      attributes: { UserId: 'sdk-user', Reason: 'bye' },
    });
    assert.equal(await disconnected, 'serverDisconnect');
  });

  test('DisconnectUser of a user with no connection succeeds; of an unknown room it is a ResourceNotFoundException', async () => {
    const { arn } = await createRoom(server);
    await server.client.send(new DisconnectUserCommand({ roomIdentifier: arn, userId: 'nobody' }));
    await expectApiError(server.client.send(new DisconnectUserCommand({ roomIdentifier: UNKNOWN_ROOM, userId: 'u' })), ResourceNotFoundException);
  });
});
