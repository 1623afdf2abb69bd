import { newId } from '../ids.ts';
import { eventFrame } from './frames.ts';

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
