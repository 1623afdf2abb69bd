import type { Context } from '../context.ts';
import { ChatError } from '../errors.ts';
import { newId } from '../ids.ts';
import { takeShared } from '../redis/shared-token-bucket.ts';
import { broadcast } from './broadcast.ts';
import type { ChatSocket } from './connection.ts';
import { codePointLength, type ChatRequest } from './decode-request.ts';
import { messageFrame } from './frames.ts';
import { leakForTest } from './test-leak.ts';

type SendMessageRequest = Extract<ChatRequest, { action: 'SEND_MESSAGE' }>;

/** SEND_MESSAGE (the capability is checked by the action table): limits, review, then one MESSAGE frame published to the room (the sender included). */
export async function sendMessage(
  ctx: Context,
  ws: ChatSocket,
  request: SendMessageRequest,
  receivedAt: number,
): Promise<ChatError | undefined> {
  const connection = ws.getUserData();
  const room = connection.room;
  const settings = room.settings;
  const length = codePointLength(request.content);
  if (length > settings.maximumMessageLength) {
    return new ChatError(
      400,
      `Content is ${length} characters, more than the room's maximumMessageLength of ${settings.maximumMessageLength}`,
    );
  }
  // With --redis-url a room's senders sit on any node, so its rate is one bucket in Redis: one
  // script call per message, the only Redis round trip of SEND_MESSAGE. Without, no await and no
  // allocation, as before.
  const allowed = ctx.sharedBuckets
    ? await takeShared(ctx.sharedBuckets, `room:${room.id}`, settings.maximumMessageRatePerSecond, () => room.tryTakeMessage(Date.now()))
    : room.tryTakeMessage(Date.now());
  if (!allowed) {
    ctx.metrics.rateLimited.labels('room_message_rate').inc();
    return new ChatError(
      429,
      `The room's maximumMessageRatePerSecond of ${settings.maximumMessageRatePerSecond} is exceeded`,
    );
  }

  const id = newId();
  let content = request.content;
  let attributes = request.attributes;
  if (settings.review) {
    const verdict = await ctx.reviewer.review(
      settings.review,
      {
        Content: content,
        MessageId: id,
        RoomArn: settings.arn,
        Attributes: attributes ?? {},
        Sender: { UserId: connection.userId, Attributes: connection.senderAttributes ?? {}, Ip: connection.ip },
      },
      settings.maximumMessageLength,
    );
    if (!verdict.allowed) return new ChatError(406, 'The message was rejected by the message review handler');
    content = verdict.content;
    attributes = verdict.attributes ?? attributes;
    if (room.deleted) return new ChatError(404, 'The room no longer exists');
  }

  const frame = messageFrame({
    id,
    requestId: request.requestId,
    attributes,
    content,
    sendTime: new Date().toISOString(),
    sender: connection.sender,
  });
  await broadcast(ctx, room.id, settings.logDestinations, 'MESSAGE', frame);
  if (ctx.config.testLeakKibPerMessage) leakForTest(ctx.config.testLeakKibPerMessage);
  ctx.metrics.messageDuration.observe((performance.now() - receivedAt) / 1000);
  return undefined;
}
