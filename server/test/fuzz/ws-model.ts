import type { Capability } from './ws-arbitraries.ts';

// What the messaging API must answer to one client message, from the protocol (ivs-chat-protocol.md
// §2) rather than from the server's code. Where the protocol fixes no order between two faults
// (a missing capability and a malformed field, say) any of their codes is right: `codes` lists them.

export type WsExpect =
  | { kind: 'error'; codes: readonly number[]; requestId: string | undefined; why: string }
  | {
      kind: 'message';
      requestId: string | undefined;
      content: string;
      attributes: Record<string, string> | undefined;
      /** In a review room: what the client sent, which the review handler must have been asked about. */
      sent?: { content: string; attributes: Record<string, string> | undefined };
    }
  | { kind: 'event'; eventName: string; requestId: string | undefined; attributes: Record<string, string>; thenClose: boolean }
  | { kind: 'pong'; payload: Buffer }
  /** Nothing comes back (an unsolicited pong): the closing probe proves nothing did. */
  | { kind: 'silence' }
  /** A protocol violation: the server fails the connection (RFC 6455 §7.1.7), no ERROR frame. */
  | { kind: 'fail'; why: string }
  /** The client closed: the server answers with a close frame and ends the connection. */
  | { kind: 'close-echo' }
  /**
   * The client sent part of a frame and then FIN: the server ends the connection too. With
   * `anyAnswer`, well-formed frames may come first (an unmasked frame: see ws-fuzz.ts).
   */
  | { kind: 'end'; anyAnswer: boolean };

/** Larger frames get ERROR 413 (server/src/messaging/websocket.ts MAX_REQUEST_BYTES). */
export const MAX_REQUEST_BYTES = 16 * 1024;
/** Larger messages are not read at all: the connection fails. */
export const MAX_FRAME_BYTES = 256 * 1024;
export const MAX_MESSAGE_LENGTH = 500;
const MAX_ATTRIBUTES_BYTES = 1024;
const MAX_REQUEST_ID_LENGTH = 256;
const ID = /^[a-zA-Z0-9]{12}$/;

const utf8 = new TextDecoder('utf-8', { fatal: true });

export interface Connection {
  capabilities: readonly Capability[];
  userId: string;
}

/** One complete message (possibly reassembled from fragments) as the server receives it. */
export function expectMessage(bytes: Buffer, binary: boolean, connection: Connection): WsExpect {
  if (bytes.length > MAX_FRAME_BYTES) return { kind: 'fail', why: 'message over the frame limit' };
  if (binary) return error([400], undefined, 'binary frame');
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { kind: 'fail', why: 'text frame that is not UTF-8 (RFC 6455 §8.1)' };
  }
  if (bytes.length > MAX_REQUEST_BYTES) return error([413], undefined, 'frame over 16 KiB');
  return expectRequest(text, connection);
}

function error(codes: readonly number[], requestId: string | undefined, why: string): WsExpect {
  return { kind: 'error', codes: [...new Set(codes)].sort(), requestId, why };
}

function expectRequest(text: string, connection: Connection): WsExpect {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return error([400], undefined, 'not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return error([400], undefined, 'not an object');
  const request = value as Record<string, unknown>;

  const rawRequestId = request.RequestId;
  // null is read as "no RequestId" (the member is optional).
  if (rawRequestId !== undefined && rawRequestId !== null) {
    if (typeof rawRequestId !== 'string') return error([400], undefined, 'RequestId not a string');
    if (rawRequestId.length > MAX_REQUEST_ID_LENGTH) return error([400], undefined, 'RequestId too long');
  }
  const requestId = typeof rawRequestId === 'string' ? rawRequestId : undefined;
  const faults: number[] = [];
  const has = (capability: Capability) => connection.capabilities.includes(capability);
  const checkReason = () => {
    const reason = request.Reason;
    if (reason === undefined || reason === null) return undefined;
    if (typeof reason !== 'string' || reason.length < 1 || reason.length > 256) faults.push(400);
    return reason as string;
  };

  switch (request.Action) {
    case 'SEND_MESSAGE': {
      const content = request.Content;
      if (typeof content !== 'string' || content.length === 0) faults.push(400);
      else if ([...content].length > MAX_MESSAGE_LENGTH) faults.push(400);
      const attributes = request.Attributes;
      if (attributes !== undefined && attributes !== null) {
        if (typeof attributes !== 'object' || Array.isArray(attributes)) faults.push(400);
        else {
          let size = 0;
          for (const [k, v] of Object.entries(attributes)) {
            if (typeof v !== 'string') faults.push(400);
            else size += Buffer.byteLength(k) + Buffer.byteLength(v);
          }
          if (size > MAX_ATTRIBUTES_BYTES) faults.push(413);
        }
      }
      if (!has('SEND_MESSAGE')) faults.push(403);
      if (faults.length > 0) return error(faults, requestId, 'SEND_MESSAGE fault');
      return {
        kind: 'message',
        requestId,
        content: content as string,
        attributes: (attributes ?? undefined) as Record<string, string> | undefined,
      };
    }
    case 'DELETE_MESSAGE': {
      const id = request.Id;
      if (typeof id !== 'string' || !ID.test(id)) faults.push(400);
      const reason = checkReason();
      if (!has('DELETE_MESSAGE')) faults.push(403);
      if (faults.length > 0) return error(faults, requestId, 'DELETE_MESSAGE fault');
      const attributes: Record<string, string> = { MessageId: id as string, MessageID: id as string };
      if (reason !== undefined) attributes.Reason = reason;
      return { kind: 'event', eventName: 'aws:DELETE_MESSAGE', requestId, attributes, thenClose: false };
    }
    case 'DISCONNECT_USER': {
      const userId = request.UserId;
      if (typeof userId !== 'string' || userId.length < 1 || userId.length > 128) faults.push(400);
      const reason = checkReason();
      if (!has('DISCONNECT_USER')) faults.push(403);
      if (faults.length > 0) return error(faults, requestId, 'DISCONNECT_USER fault');
      const attributes: Record<string, string> = { UserId: userId as string };
      if (reason !== undefined) attributes.Reason = reason;
      return { kind: 'event', eventName: 'aws:DISCONNECT_USER', requestId, attributes, thenClose: userId === connection.userId };
    }
    default:
      return error([400], requestId, 'missing or unknown Action');
  }
}
