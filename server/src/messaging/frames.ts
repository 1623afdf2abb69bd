import type { ChatError } from '../errors.ts';
import { newId } from '../ids.ts';

// Server-to-client frames, built by hand as strings: each is serialized once per publish and the
// same bytes go to every recipient. JSON.stringify is used per field for escaping; the layout
// follows the Chat Messaging API reference, field for field.

const q = JSON.stringify;

/** `{"UserId":…,"Attributes":…}`: built once per connection, spliced into every MESSAGE it sends. */
export function senderJson(userId: string, attributes: Record<string, string> | undefined): string {
  return attributes ? `{"UserId":${q(userId)},"Attributes":${q(attributes)}}` : `{"UserId":${q(userId)}}`;
}

export interface MessageFields {
  id: string;
  requestId: string | undefined;
  attributes: Record<string, string> | undefined;
  content: string;
  sendTime: string;
  sender: string;
}

export function messageFrame(m: MessageFields): string {
  return (
    `{"Type":"MESSAGE","Id":"${m.id}"` +
    (m.requestId === undefined ? '' : `,"RequestId":${q(m.requestId)}`) +
    (m.attributes === undefined ? '' : `,"Attributes":${q(m.attributes)}`) +
    `,"Content":${q(m.content)},"SendTime":"${m.sendTime}","Sender":${m.sender}}`
  );
}

export interface EventFields {
  id: string;
  /** The moderator's RequestId for WebSocket actions; "" for events raised through the HTTP API. */
  requestId: string | undefined;
  eventName: string;
  attributes: Record<string, string> | undefined;
  sendTime: string;
}

export function eventFrame(e: EventFields): string {
  return (
    `{"Type":"EVENT","Id":"${e.id}"` +
    (e.requestId === undefined ? '' : `,"RequestId":${q(e.requestId)}`) +
    `,"EventName":${q(e.eventName)}` +
    (e.attributes === undefined ? '' : `,"Attributes":${q(e.attributes)}`) +
    `,"SendTime":"${e.sendTime}"}`
  );
}

export function errorFrame(error: ChatError, requestId: string | undefined): string {
  return (
    `{"Type":"ERROR","Id":"${newId()}"` +
    (requestId === undefined ? '' : `,"RequestId":${q(requestId)}`) +
    `,"ErrorCode":${error.code},"ErrorMessage":${q(error.message)}}`
  );
}
