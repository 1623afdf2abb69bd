import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { connectChatRoom, createRoom, nextEvent, SendMessageRequest, type ChatRoomInstance } from './support/chat.ts';
import { startTestServer, type TestServer } from './support/server.ts';

describe('messaging with the official amazon-ivs-chat-messaging SDK', () => {
  let server: TestServer;
  const rooms: ChatRoomInstance[] = [];
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const room of rooms) room.disconnect();
    await server.stop();
  });

  test('a sent message resolves sendMessage and reaches every viewer with sender and attributes', async () => {
    const { arn } = await createRoom(server);
    const alice = await connectChatRoom(server, arn, 'alice', ['SEND_MESSAGE'], { attributes: { nick: 'Alice' } });
    const bob = await connectChatRoom(server, arn, 'bob', []);
    rooms.push(alice, bob);
    const received = nextEvent<{ id: string; content: string; sender: { userId: string; attributes?: Record<string, string> }; attributes?: Record<string, string>; requestId?: string }>(bob, 'message');
    const request = new SendMessageRequest('hello 👋', { color: 'blue' });
    const sent = await alice.sendMessage(request);
    const seen = await received;
    assert.equal(seen.id, sent.id);
    assert.match(sent.id, /^[a-zA-Z0-9]{12}$/);
    assert.equal(seen.content, 'hello 👋');
    assert.deepEqual(seen.sender, { userId: 'alice', attributes: { nick: 'Alice' } });
    assert.deepEqual(seen.attributes, { color: 'blue' });
    assert.equal(seen.requestId, request.requestId);
  });
});
