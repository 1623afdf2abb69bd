import type { Context } from '../context.ts';
import { ChatError } from '../errors.ts';
import { ID_PATTERN } from '../ids.ts';
import { deleteMessage as moderateDeleteMessage } from '../moderation/delete-message.ts';
import { DELETE_MESSAGE_RATE } from '../moderation/moderation-events.ts';
import type { ChatSocket } from './connection.ts';
import type { ChatRequest } from './decode-request.ts';

type DeleteMessageRequest = Extract<ChatRequest, { action: 'DELETE_MESSAGE' }>;

/**
 * DELETE_MESSAGE: broadcasts aws:DELETE_MESSAGE; clients hide the message. The service keeps no
 * message history (neither does IVS, as far as its API shows), so any well-formed id is accepted:
 * an unknown id is not an error, a malformed one is a 400.
 */
export async function deleteMessage(ctx: Context, ws: ChatSocket, request: DeleteMessageRequest): Promise<ChatError | undefined> {
  if (!ID_PATTERN.test(request.id)) return new ChatError(400, 'Id must be a message id: 12 characters [a-zA-Z0-9]');
  const room = ws.getUserData().room;
  const outcome = await moderateDeleteMessage(ctx, room.id, room.settings.logDestinations, request.id, request.reason, request.requestId);
  if (outcome === 'throttled') return new ChatError(429, `DeleteMessage rate of ${DELETE_MESSAGE_RATE} per second (all rooms) is exceeded`);
  return undefined;
}
