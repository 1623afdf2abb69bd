import type { LogDestination } from '../chat-logging/destinations.ts';
import type { Context } from '../context.ts';
import { broadcast } from '../messaging/broadcast.ts';
import { deleteMessageEvent, takeDeleteMessageBudget } from './moderation-events.ts';

/**
 * DeleteMessage, for the HTTP operation and the WebSocket action alike: charges the service-wide
 * budget, then logs and broadcasts aws:DELETE_MESSAGE on every node. The caller has validated the
 * message id and answers a refusal in its own protocol. `requestId` is '' from the HTTP API.
 */
export async function deleteMessage(
  ctx: Context,
  roomId: string,
  logDestinations: readonly LogDestination[],
  messageId: string,
  reason: string | undefined,
  requestId: string | undefined,
): Promise<{ id: string } | 'throttled'> {
  if (!(await takeDeleteMessageBudget(ctx))) return 'throttled';
  const event = deleteMessageEvent(messageId, reason, requestId);
  await broadcast(ctx, roomId, logDestinations, 'EVENT', event.frame);
  return { id: event.id };
}
