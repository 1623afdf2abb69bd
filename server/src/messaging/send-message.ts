import type { Context } from '../context.ts';
import { ChatError } from '../errors.ts';
import { newId } from '../ids.ts';
import { takeShared } from '../redis/shared-token-bucket.ts';
import type { LiveRoom } from '../rooms/live-rooms.ts';
import { broadcast } from './broadcast.ts';
import type { ChatSocket, Connection } from './connection.ts';
import { codePointLength, type ChatRequest } from './decode-request.ts';
import { messageFrame } from './frames.ts';
import { leakForTest } from './test-leak.ts';

type SendMessageRequest = Extract<ChatRequest, { action: 'SEND_MESSAGE' }>;
type Outcome = ChatError | undefined | Promise<ChatError | undefined>;

/**
 * SEND_MESSAGE (the capability is checked by the action table): limits, review, then one MESSAGE
 * frame published to the room (the sender included). Synchronous, without a promise, unless a step
 * has to wait (Redis rate bucket, review handler, chat log, Redis bus): this runs per message.
 */
export function sendMessage(ctx: Context, ws: ChatSocket, request: SendMessageRequest, receivedAt: number): Outcome {
  const connection = ws.getUserData();
  const room = connection.room;
  const settings = room.settings;
  // A string has at least as many UTF-16 units as code points: only a long one needs counting.
  if (request.content.length > settings.maximumMessageLength) {
    const length = codePointLength(request.content);
    if (length > settings.maximumMessageLength) {
      return new ChatError(
        400,
        `Content is ${length} characters, more than the room's maximumMessageLength of ${settings.maximumMessageLength}`,
      );
    }
  }
  // With --redis-url a room's senders sit on any node, so its rate is one bucket in Redis: one
  // script call per message, the only Redis round trip of SEND_MESSAGE. Without, no await and no
  // allocation.
  if (ctx.sharedBuckets) {
    const allowed = takeShared(ctx.sharedBuckets, `room:${room.id}`, settings.maximumMessageRatePerSecond, () => room.tryTakeMessage(Date.now()));
    if (typeof allowed === 'boolean') return allowed ? reviewThenPublish(ctx, connection, room, request, receivedAt) : rateLimited(ctx, room);
    return allowed.then((ok) => (ok ? reviewThenPublish(ctx, connection, room, request, receivedAt) : rateLimited(ctx, room)));
  }
  if (!room.tryTakeMessage(Date.now())) return rateLimited(ctx, room);
  return reviewThenPublish(ctx, connection, room, request, receivedAt);
}

function rateLimited(ctx: Context, room: LiveRoom): ChatError {
  ctx.metrics.rateLimited.labels('room_message_rate').inc();
  return new ChatError(429, `The room's maximumMessageRatePerSecond of ${room.settings.maximumMessageRatePerSecond} is exceeded`);
}

function reviewThenPublish(ctx: Context, connection: Connection, room: LiveRoom, request: SendMessageRequest, receivedAt: number): Outcome {
  const id = newId();
  if (room.settings.review) return review(ctx, connection, room, id, request, receivedAt);
  return publish(ctx, connection, room, id, request.requestId, request.content, request.attributes, receivedAt);
}

async function review(ctx: Context, connection: Connection, room: LiveRoom, id: string, request: SendMessageRequest, receivedAt: number): Promise<ChatError | undefined> {
  const settings = room.settings;
  const verdict = await ctx.reviewer.review(
    settings.review!,
    {
      Content: request.content,
      MessageId: id,
      RoomArn: settings.arn,
      Attributes: request.attributes ?? {},
      Sender: { UserId: connection.userId, Attributes: connection.senderAttributes ?? {}, Ip: connection.ip },
    },
    settings.maximumMessageLength,
  );
  if (!verdict.allowed) return new ChatError(406, 'The message was rejected by the message review handler');
  if (room.deleted) return new ChatError(404, 'The room no longer exists');
  return publish(ctx, connection, room, id, request.requestId, verdict.content, verdict.attributes ?? request.attributes, receivedAt);
}

function publish(
  ctx: Context,
  connection: Connection,
  room: LiveRoom,
  id: string,
  requestId: string | undefined,
  content: string,
  attributes: SendMessageRequest['attributes'],
  receivedAt: number,
): undefined | Promise<undefined> {
  const frame = messageFrame({ id, requestId, attributes, content, sendTime: sendTime(), sender: connection.sender });
  const sent = broadcast(ctx, room.id, room.settings.logDestinations, 'MESSAGE', frame);
  if (ctx.config.testLeakKibPerMessage) leakForTest(ctx.config.testLeakKibPerMessage);
  if (sent) {
    return sent.then(() => {
      ctx.metrics.hot.messageDuration.observe((performance.now() - receivedAt) / 1000);
      return undefined;
    });
  }
  ctx.metrics.hot.messageDuration.observe((performance.now() - receivedAt) / 1000);
  return undefined;
}

// One Date and one ISO string per millisecond rather than per message: at thousands of messages a
// second most of them share a millisecond.
let lastMs = -1;
let lastIso = '';
function sendTime(): string {
  const now = Date.now();
  if (now !== lastMs) {
    lastMs = now;
    lastIso = new Date(now).toISOString();
  }
  return lastIso;
}
