import type { Context } from '../context.ts';
import { newId } from '../ids.ts';
import { eventFrame } from '../messaging/frames.ts';
import { takeShared } from '../redis/shared-token-bucket.ts';

// The two events the service raises itself, shared by the WebSocket actions and the HTTP
// operations. aws:DELETE_MESSAGE carries the message id twice: MessageId is the documented name,
// MessageID the deprecated one that amazon-ivs-chat-messaging 1.1.1 still reads.

export function deleteMessageEvent(messageId: string, reason: string | undefined, requestId: string | undefined): { id: string; frame: string } {
  const id = newId();
  const attributes: Record<string, string> = { MessageId: messageId, MessageID: messageId };
  if (reason !== undefined) attributes.Reason = reason;
  return {
    id,
    frame: eventFrame({ id, requestId, eventName: 'aws:DELETE_MESSAGE', attributes, sendTime: new Date().toISOString() }),
  };
}

export function disconnectUserEvent(userId: string, reason: string | undefined, requestId: string | undefined): { id: string; frame: string } {
  const id = newId();
  const attributes: Record<string, string> = { UserId: userId };
  if (reason !== undefined) attributes.Reason = reason;
  return {
    id,
    frame: eventFrame({ id, requestId, eventName: 'aws:DISCONNECT_USER', attributes, sendTime: new Date().toISOString() }),
  };
}

/** DeleteMessage across all rooms, HTTP and WebSocket together (the real quota), unless quotas are off. */
export const DELETE_MESSAGE_RATE = 100;

/** True when one more DeleteMessage may go out now; a refusal is counted here, answered by the caller in its own protocol. */
export async function takeDeleteMessageBudget(ctx: Context): Promise<boolean> {
  if (!ctx.config.limits.apiQuotas) return true;
  const taken = await takeShared(ctx.sharedBuckets, 'delete-message', DELETE_MESSAGE_RATE, () =>
    ctx.deleteMessageBudget.take(DELETE_MESSAGE_RATE),
  );
  if (!taken) ctx.metrics.rateLimited.labels('delete_message_rate').inc();
  return taken;
}
