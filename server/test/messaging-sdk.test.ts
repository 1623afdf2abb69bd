import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  ChatRoom,
  connectChatRoom,
  createRoom,
  createToken,
  DeleteMessageRequest,
  DisconnectUserRequest,
  nextEvent,
  SendMessageRequest,
  type ChatRoomInstance,
} from './support/chat.ts';
import { startTestServer, type TestServer } from './support/server.ts';

interface ChatMessage {
  id: string;
  content: string;
  sender: { userId: string; attributes?: Record<string, string> };
  attributes?: Record<string, string>;
  requestId?: string;
  sendTime: Date;
}
interface ChatErrorShape {
  id: string;
  errorCode: number;
  errorMessage: string;
  requestId?: string;
}

describe('messaging with the official amazon-ivs-chat-messaging SDK', () => {
  let server: TestServer;
  const open: ChatRoomInstance[] = [];
  const connect = async (...args: Parameters<typeof connectChatRoom> extends [unknown, ...infer R] ? R : never) => {
    const room = await connectChatRoom(server, ...args);
    open.push(room);
    return room;
  };

  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const room of open) room.disconnect();
    await server.stop();
  });

  test('a sent message resolves sendMessage and reaches every viewer with sender and attributes', async () => {
    const { arn } = await createRoom(server);
    const alice = await connect(arn, 'alice', ['SEND_MESSAGE'], { attributes: { nick: 'Alice' } });
    const bob = await connect(arn, 'bob', []);
    const received = nextEvent<ChatMessage>(bob, 'message');
    const request = new SendMessageRequest('hello 👋', { color: 'blue' });
    const sent = (await alice.sendMessage(request)) as ChatMessage;
    const seen = await received;
    assert.equal(seen.id, sent.id);
    assert.match(sent.id, /^[a-zA-Z0-9]{12}$/);
    assert.equal(seen.content, 'hello 👋');
    assert.deepEqual(seen.sender, { userId: 'alice', attributes: { nick: 'Alice' } });
    assert.deepEqual(seen.attributes, { color: 'blue' });
    assert.equal(seen.requestId, request.requestId);
    assert.ok(Math.abs(seen.sendTime.getTime() - Date.now()) < 5000, 'SendTime is a current ISO-8601 time');
  });

  test('a message without attributes arrives without attributes', async () => {
    const { arn } = await createRoom(server);
    const alice = await connect(arn, 'alice');
    const sent = (await alice.sendMessage(new SendMessageRequest('plain'))) as ChatMessage;
    assert.equal(sent.attributes, undefined);
    assert.deepEqual(sent.sender, { userId: 'alice', attributes: undefined });
  });

  test('sendMessage is rejected with 403 when the token lacks SEND_MESSAGE', async () => {
    const { arn } = await createRoom(server);
    const viewer = await connect(arn, 'viewer', []);
    await assert.rejects(viewer.sendMessage(new SendMessageRequest('hi')), (error: ChatErrorShape) => {
      assert.equal(error.errorCode, 403);
      assert.match(error.errorMessage, /SEND_MESSAGE/);
      assert.match(error.id, /^[a-zA-Z0-9]{12}$/);
      return true;
    });
  });

  test('content longer than maximumMessageLength code points is rejected with 400, and an emoji counts as one', async () => {
    const { arn } = await createRoom(server, { maximumMessageLength: 5 });
    const alice = await connect(arn, 'alice');
    const ok = (await alice.sendMessage(new SendMessageRequest('👋👋👋👋👋'))) as ChatMessage;
    assert.equal(ok.content, '👋👋👋👋👋');
    await assert.rejects(alice.sendMessage(new SendMessageRequest('123456')), (error: ChatErrorShape) => {
      assert.equal(error.errorCode, 400);
      assert.match(error.errorMessage, /maximumMessageLength of 5/);
      return true;
    });
  });

  test('messages beyond the room-wide maximumMessageRatePerSecond are rejected with 429', async () => {
    const { arn } = await createRoom(server, { maximumMessageRatePerSecond: 2 });
    const alice = await connect(arn, 'alice');
    const bob = await connect(arn, 'bob');
    const results = await Promise.allSettled([
      alice.sendMessage(new SendMessageRequest('1')),
      bob.sendMessage(new SendMessageRequest('2')),
      alice.sendMessage(new SendMessageRequest('3')),
      bob.sendMessage(new SendMessageRequest('4')),
    ]);
    const rejected = results.filter((r) => r.status === 'rejected').map((r) => (r as PromiseRejectedResult).reason as ChatErrorShape);
    assert.equal(results.length - rejected.length, 2, 'the room allows two messages in its first second');
    assert.equal(rejected.length, 2);
    for (const error of rejected) assert.equal(error.errorCode, 429);
  });

  test('a moderator deletes a message: everyone gets aws:DELETE_MESSAGE and the request resolves', async () => {
    const { arn } = await createRoom(server);
    const alice = await connect(arn, 'alice');
    const moderator = await connect(arn, 'mod', ['DELETE_MESSAGE']);
    const sent = (await alice.sendMessage(new SendMessageRequest('oops'))) as ChatMessage;
    const seenByAlice = nextEvent<{ messageId: string; reason?: string; attributes?: Record<string, string> }>(alice, 'messageDelete');
    const request = new DeleteMessageRequest(sent.id, 'spam');
    const resolved = (await moderator.deleteMessage(request)) as { messageId: string; requestId?: string };
    assert.equal(resolved.messageId, sent.id);
    assert.equal(resolved.requestId, request.requestId);
    const event = await seenByAlice;
    assert.equal(event.messageId, sent.id);
    assert.equal(event.reason, 'spam');
    assert.equal(event.attributes?.MessageId, sent.id, 'the documented attribute name is sent too');
  });

  test('deleteMessage and disconnectUser are rejected with 403 without their capabilities', async () => {
    const { arn } = await createRoom(server);
    const alice = await connect(arn, 'alice', ['SEND_MESSAGE']);
    const sent = (await alice.sendMessage(new SendMessageRequest('x'))) as ChatMessage;
    await assert.rejects(alice.deleteMessage(new DeleteMessageRequest(sent.id)), (e: ChatErrorShape) => e.errorCode === 403);
    await assert.rejects(alice.disconnectUser(new DisconnectUserRequest('bob')), (e: ChatErrorShape) => e.errorCode === 403);
  });

  test('a moderator disconnects a user: every connection of that user gets the event and a server disconnect', async () => {
    const { arn } = await createRoom(server);
    const moderator = await connect(arn, 'mod', ['DISCONNECT_USER']);
    const troll1 = await connect(arn, 'troll');
    const troll2 = await connect(arn, 'troll');
    const bystander = await connect(arn, 'bystander');
    const events = [troll1, troll2, bystander].map((room) => nextEvent<{ userId: string; reason?: string }>(room, 'userDisconnect'));
    const disconnects = [troll1, troll2].map((room) => nextEvent<string>(room, 'disconnect'));
    const resolved = (await moderator.disconnectUser(new DisconnectUserRequest('troll', 'be nice'))) as { userId: string };
    assert.equal(resolved.userId, 'troll');
    for (const event of await Promise.all(events)) assert.deepEqual([event.userId, event.reason], ['troll', 'be nice']);
    assert.deepEqual(await Promise.all(disconnects), ['serverDisconnect', 'serverDisconnect'], 'close 1000: the SDK does not reconnect');
    assert.equal(bystander.state, 'connected');
    assert.equal(moderator.state, 'connected');
    // The moderator's room still works after the disconnect.
    const after = nextEvent<ChatMessage>(moderator, 'message');
    await bystander.sendMessage(new SendMessageRequest('still here'));
    assert.equal((await after).content, 'still here');
  });
});

describe('sessions with the official SDK', () => {
  test('an expired session gets ERROR 401 and the SDK reconnects with a fresh token', async () => {
    // One minute of session lasts one second here, so a one-minute session ends quickly.
    const server = await startTestServer(['--session-minute-seconds', '1']);
    try {
      const { arn } = await createRoom(server);
      let tokens = 0;
      const room = new ChatRoom({
        regionOrUrl: server.wsUrl,
        // Without tokenExpirationTime the SDK schedules no refresh of its own, so the session
        // really runs out and the server's ERROR 401 is what makes it reconnect.
        tokenProvider: async () => {
          tokens++;
          const { token } = await createToken(server, arn, 'viewer', ['SEND_MESSAGE'], { sessionDurationInMinutes: 1 });
          return { token };
        },
      });
      room.logger = { debug() {}, info() {}, error() {} } as unknown as typeof room.logger;
      const connected = nextEvent(room, 'connect');
      room.connect();
      await connected;
      const reconnecting = nextEvent(room, 'connecting', 4000);
      const reconnected = reconnecting.then(() => nextEvent(room, 'connect', 4000));
      await reconnected;
      assert.equal(tokens, 2, 'a fresh token was fetched for the new connection');
      const sent = (await room.sendMessage(new SendMessageRequest('after refresh'))) as ChatMessage;
      assert.equal(sent.content, 'after refresh');
      room.disconnect();
    } finally {
      await server.stop();
    }
  });
});
