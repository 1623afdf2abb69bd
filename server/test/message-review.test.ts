import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { UpdateRoomCommand } from '@aws-sdk/client-ivschat';
import { after, before, describe, test } from 'node:test';
import { connectChatRoom, createRoom, nextEvent, SendMessageRequest, type ChatRoomInstance } from './support/chat.ts';
import { startTestServer, type TestServer } from './support/server.ts';

interface ReviewEvent {
  Content: string;
  MessageId: string;
  RoomArn: string;
  Attributes: Record<string, string>;
  Sender: { UserId: string; Attributes: Record<string, string>; Ip: string };
}
type Answer = (event: ReviewEvent) => { status?: number; body: unknown; delayMs?: number };

/** A stand-in for the review Lambda: an HTTP endpoint whose answer each test sets. */
async function startReviewHandler() {
  const requests: ReviewEvent[] = [];
  let answer: Answer = () => ({ body: { ReviewResult: 'ALLOW' } });
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () => {
      const event = JSON.parse(body) as ReviewEvent;
      requests.push(event);
      const { status = 200, body: reply, delayMs = 0 } = answer(event);
      const timer = setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(typeof reply === 'string' ? reply : JSON.stringify(reply));
      }, delayMs);
      res.on('close', () => clearTimeout(timer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/review`,
    requests,
    answer(next: Answer) {
      answer = next;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

interface ChatMessage {
  id: string;
  content: string;
  attributes?: Record<string, string>;
}

describe('the message review handler', () => {
  let server: TestServer;
  let handler: Awaited<ReturnType<typeof startReviewHandler>>;
  const open: ChatRoomInstance[] = [];
  before(async () => {
    // Long enough that a prompt answer never misses it on a loaded machine; the slow answers below
    // come far later than it.
    server = await startTestServer(['--review-timeout-ms', '1000']);
    handler = await startReviewHandler();
  });
  after(async () => {
    for (const room of open) room.disconnect();
    await server.stop();
    await handler.close();
  });

  async function roomWithHandler(fallbackResult: 'ALLOW' | 'DENY') {
    const { arn } = await createRoom(server, { messageReviewHandler: { uri: handler.url, fallbackResult } });
    const sender = await connectChatRoom(server, arn, 'alice', ['SEND_MESSAGE'], { attributes: { nick: 'A' } });
    const viewer = await connectChatRoom(server, arn, 'bob', []);
    open.push(sender, viewer);
    return { arn, sender, viewer };
  }

  test('the handler receives the message, room, sender and IP, and ALLOW delivers its replacement content and attributes', async () => {
    const { arn, sender, viewer } = await roomWithHandler('DENY');
    handler.answer((event) => ({ body: { ReviewResult: 'ALLOW', Content: event.Content.replace('darn', '****'), Attributes: { reviewed: 'yes' } } }));
    const seen = nextEvent<ChatMessage>(viewer, 'message');
    const sent = (await sender.sendMessage(new SendMessageRequest('oh darn', { mood: 'sad' }))) as ChatMessage;
    const event = handler.requests.at(-1)!;
    assert.deepEqual(
      { ...event, Sender: { ...event.Sender, Ip: undefined } },
      { Content: 'oh darn', MessageId: sent.id, RoomArn: arn, Attributes: { mood: 'sad' }, Sender: { UserId: 'alice', Attributes: { nick: 'A' }, Ip: undefined } },
    );
    assert.match(event.Sender.Ip, /127\.0\.0\.1/);
    assert.equal(sent.content, 'oh ****');
    assert.deepEqual(sent.attributes, { reviewed: 'yes' });
    assert.equal((await seen).content, 'oh ****');
  });

  test('DENY gives the sender ERROR 406 and nobody sees the message', async () => {
    const { sender, viewer } = await roomWithHandler('ALLOW');
    handler.answer((event) => ({ body: { ReviewResult: event.Content.includes('bad') ? 'DENY' : 'ALLOW' } }));
    const first = nextEvent<ChatMessage>(viewer, 'message');
    await assert.rejects(sender.sendMessage(new SendMessageRequest('bad words')), (e: { errorCode: number }) => e.errorCode === 406);
    await sender.sendMessage(new SendMessageRequest('kind words'));
    assert.equal((await first).content, 'kind words', 'the denied message never reached the viewer');
  });

  test('no answer within the timeout applies fallbackResult ALLOW: the original message goes out', async () => {
    const { sender } = await roomWithHandler('ALLOW');
    handler.answer(() => ({ body: { ReviewResult: 'DENY' }, delayMs: 10_000 }));
    const sent = (await sender.sendMessage(new SendMessageRequest('slow review'))) as ChatMessage;
    assert.equal(sent.content, 'slow review');
  });

  test('no answer within the timeout applies fallbackResult DENY: ERROR 406', async () => {
    const { sender } = await roomWithHandler('DENY');
    handler.answer(() => ({ body: { ReviewResult: 'ALLOW' }, delayMs: 10_000 }));
    await assert.rejects(sender.sendMessage(new SendMessageRequest('slow review')), (e: { errorCode: number }) => e.errorCode === 406);
  });

  test('an answer that does not fit the shape applies the fallback', async () => {
    const { sender } = await roomWithHandler('DENY');
    for (const body of ['not json', { ReviewResult: 'MAYBE' }, { ReviewResult: 'ALLOW', Content: 42 }, { ReviewResult: 'ALLOW', Attributes: { a: 1 } }]) {
      handler.answer(() => ({ body }));
      await assert.rejects(sender.sendMessage(new SendMessageRequest('x')), (e: { errorCode: number }) => e.errorCode === 406, JSON.stringify(body));
    }
    handler.answer(() => ({ status: 500, body: { ReviewResult: 'ALLOW' } }));
    await assert.rejects(sender.sendMessage(new SendMessageRequest('x')), (e: { errorCode: number }) => e.errorCode === 406, 'HTTP 500');
  });

  test('replacement content longer than the room allows applies the fallback', async () => {
    const { sender } = await roomWithHandler('DENY');
    handler.answer(() => ({ body: { ReviewResult: 'ALLOW', Content: 'y'.repeat(501) } }));
    await assert.rejects(sender.sendMessage(new SendMessageRequest('x')), (e: { errorCode: number }) => e.errorCode === 406);
  });

  test('UpdateRoom with an empty uri removes the handler for connected clients at once', async () => {
    const { arn, sender } = await roomWithHandler('DENY');
    handler.answer(() => ({ body: { ReviewResult: 'DENY' } }));
    await assert.rejects(sender.sendMessage(new SendMessageRequest('before')), (e: { errorCode: number }) => e.errorCode === 406);
    await server.client.send(new UpdateRoomCommand({ identifier: arn, messageReviewHandler: { uri: '' } }));
    const sent = (await sender.sendMessage(new SendMessageRequest('after'))) as ChatMessage;
    assert.equal(sent.content, 'after');
  });
});
