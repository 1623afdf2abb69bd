import type { Context } from '../context.ts';
import { ChatError } from '../errors.ts';
import { ID_PATTERN } from '../ids.ts';
import { Capability } from '../tokens/capabilities.ts';
import { broadcast } from './broadcast.ts';
import type { ChatSocket } from './connection.ts';
import type { ChatRequest } from './decode-request.ts';
import { DELETE_MESSAGE_RATE, deleteMessageEvent, takeDeleteMessageBudget } from './moderation-events.ts';

type DeleteMessageRequest = Extract<ChatRequest, { action: 'DELETE_MESSAGE' }>;

/**
 * DELETE_MESSAGE: broadcasts aws:DELETE_MESSAGE; clients hide the message. The service keeps no
 * message history (neither does IVS, as far as its API shows), so any well-formed id is accepted:
 * an unknown id is not an error, a malformed one is a 400.
 */
export async function deleteMessage(
  ctx: Context,
  ws: ChatSocket,
  request: DeleteMessageRequest,
): Promise<ChatError | undefined> {
  const connection = ws.getUserData();
  if ((connection.capabilities & Capability.DELETE_MESSAGE) === 0) {
    return new ChatError(403, 'The token does not grant the DELETE_MESSAGE capability');
  }
  if (!ID_PATTERN.test(request.id)) return new ChatError(400, 'Id must be a message id: 12 characters [a-zA-Z0-9]');
  if (!(await takeDeleteMessageBudget(ctx))) {
    return new ChatError(429, `DeleteMessage rate of ${DELETE_MESSAGE_RATE} per second (all rooms) is exceeded`);
  }
  const { frame } = deleteMessageEvent(request.id, request.reason, request.requestId);
  await broadcast(ctx, connection.room.id, connection.room.settings.logDestinations, 'EVENT', frame);
  return undefined;
}
