import { MAX_ATTRIBUTES_BYTES } from '../attributes-schema.ts';
import { ChatError } from '../errors.ts';

// The client-to-server decoder, hand-written because it runs for every frame: JSON.parse (native)
// and then direct type checks, with no schema library on this path. Every failure names the
// field, and keeps the RequestId when one could be read so the SDK can reject the right promise.

export type ChatRequest =
  | { action: 'SEND_MESSAGE'; requestId: string | undefined; content: string; attributes: Record<string, string> | undefined }
  | { action: 'DELETE_MESSAGE'; requestId: string | undefined; id: string; reason: string | undefined }
  | { action: 'DISCONNECT_USER'; requestId: string | undefined; userId: string; reason: string | undefined };

export interface DecodeFailure {
  action: undefined;
  requestId: string | undefined;
  error: ChatError;
}

// Still exported from here, where the message path has always taken it from.
export { MAX_ATTRIBUTES_BYTES };
export const MAX_REQUEST_ID_LENGTH = 256;

const fail = (message: string, requestId?: string, code: 400 | 413 = 400): DecodeFailure => ({
  action: undefined,
  requestId,
  error: new ChatError(code, message),
});

export function decodeRequest(text: string): ChatRequest | DecodeFailure {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return fail('Request is not valid JSON');
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return fail('Request must be a JSON object');
  const frame = raw as Record<string, unknown>;

  const requestId = frame.RequestId;
  if (requestId !== undefined && requestId !== null) {
    if (typeof requestId !== 'string') return fail('RequestId must be a string');
    if (requestId.length > MAX_REQUEST_ID_LENGTH) return fail(`RequestId exceeds ${MAX_REQUEST_ID_LENGTH} characters`);
  }
  const rid = typeof requestId === 'string' ? requestId : undefined;

  switch (frame.Action) {
    case 'SEND_MESSAGE': {
      const content = frame.Content;
      if (typeof content !== 'string') return fail('Content is required and must be a string', rid);
      if (content.length === 0) return fail('Content must not be empty', rid);
      const attributes = decodeAttributes(frame.Attributes, rid);
      if (attributes !== undefined && 'error' in attributes) return attributes as DecodeFailure;
      return { action: 'SEND_MESSAGE', requestId: rid, content, attributes: attributes as Record<string, string> | undefined };
    }
    case 'DELETE_MESSAGE': {
      const id = frame.Id;
      if (typeof id !== 'string' || id.length === 0) return fail('Id is required and must be a string', rid);
      const reason = decodeReason(frame.Reason, rid);
      if (typeof reason === 'object') return reason;
      return { action: 'DELETE_MESSAGE', requestId: rid, id, reason };
    }
    case 'DISCONNECT_USER': {
      const userId = frame.UserId;
      if (typeof userId !== 'string' || userId.length === 0) return fail('UserId is required and must be a string', rid);
      if (userId.length > 128) return fail('UserId exceeds 128 characters', rid);
      const reason = decodeReason(frame.Reason, rid);
      if (typeof reason === 'object') return reason;
      return { action: 'DISCONNECT_USER', requestId: rid, userId, reason };
    }
    case undefined:
      return fail('Action is required', rid);
    default:
      return fail(`Unknown Action: ${typeof frame.Action === 'string' ? frame.Action.slice(0, 64) : typeof frame.Action}`, rid);
  }
}

function decodeReason(value: unknown, rid: string | undefined): string | undefined | DecodeFailure {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') return fail('Reason must be a string', rid);
  if (value.length < 1 || value.length > 256) return fail('Reason must be 1 to 256 characters', rid);
  return value;
}

function decodeAttributes(value: unknown, rid: string | undefined): Record<string, string> | undefined | DecodeFailure {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) return fail('Attributes must be an object of strings', rid);
  let bytes = 0;
  for (const key in value) {
    const v = (value as Record<string, unknown>)[key];
    if (typeof v !== 'string') return fail(`Attributes.${key.slice(0, 64)} must be a string`, rid);
    bytes += Buffer.byteLength(key) + Buffer.byteLength(v);
  }
  if (bytes > MAX_ATTRIBUTES_BYTES) {
    return fail(`Attributes are ${bytes} bytes, more than the ${MAX_ATTRIBUTES_BYTES}-byte limit`, rid, 413);
  }
  return value as Record<string, string>;
}

/** Content length as IVS counts it: in code points, so an emoji is one, not two UTF-16 units. */
export function codePointLength(text: string): number {
  let count = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    // A high surrogate followed by a low one is a single code point.
    if (unit >= 0xd800 && unit <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        count--;
        i++;
      }
    }
  }
  return count;
}
