// The IVS Chat messaging protocol as the harness speaks it.
//
// Receive path: a viewer sees every MESSAGE of its room, so decoding is the harness's hot loop.
// chatstorm writes MESSAGE frames in one fixed field order, so the fast path walks the frame by
// position and reads only our three attributes (send time, sender, sequence) without JSON.parse
// or allocation. Anything that does not match that layout byte for byte (EVENT, ERROR, another
// server's field order, someone else's attributes) takes the slow path through JSON.parse.

export interface SendAttributes {
  /** High-resolution epoch milliseconds at send (same clock across worker threads). */
  sendTime: number;
  /** The sender's viewer index. */
  sender: number;
  /** The sender's sequence number, from 1, continuous across its reconnects. */
  seq: number;
  /**
   * On the first message after a reconnect: the sender's sends from gapFrom to seq − 1 went out on
   * its previous connection without an ack (kicked, session expired) and may never have been
   * published. Receivers that judge loss by sequence gaps (k6) do not count them as missing.
   */
  gapFrom?: number;
}

/** Written by scanMessage; one per viewer group, reused for every frame. */
export interface MessageScan extends SendAttributes {
  /** Offset of the 12-character message Id inside the frame. */
  idStart: number;
}

export interface MessageFrame {
  Type: 'MESSAGE';
  Id: string;
  RequestId?: string;
  Attributes?: Record<string, string>;
  Content: string;
  SendTime: string;
  Sender: { UserId: string; Attributes?: Record<string, string> };
}
export interface EventFrame {
  Type: 'EVENT';
  Id: string;
  RequestId?: string;
  EventName: string;
  Attributes?: Record<string, string>;
  SendTime: string;
}
export interface ErrorFrame {
  Type: 'ERROR';
  Id: string;
  RequestId?: string;
  ErrorCode: number;
  ErrorMessage: string;
}
export type ServerFrame = MessageFrame | EventFrame | ErrorFrame;

export const DELETE_MESSAGE_EVENT = 'aws:DELETE_MESSAGE';
export const DISCONNECT_USER_EVENT = 'aws:DISCONNECT_USER';

// ---- client → server -------------------------------------------------------------------------

export function filler(bytes: number): string {
  const text = 'chatstorm load message ';
  return text.repeat(Math.ceil(Math.max(1, bytes) / text.length)).slice(0, Math.max(1, bytes));
}

/** `content` must need no JSON escaping (the harness sends ASCII filler). */
export function encodeSendMessage(content: string, a: SendAttributes): string {
  // "g" goes first, where the receive fast path expects "t": those rare frames take the slow path,
  // which reads it (chatstorm keeps the attributes' order).
  const gap = a.gapFrom ? `"g":"${a.gapFrom}",` : '';
  return (
    `{"Action":"SEND_MESSAGE","RequestId":"m${a.seq}","Content":"${content}",` +
    `"Attributes":{${gap}"t":"${a.sendTime.toFixed(3)}","s":"${a.sender}","n":"${a.seq}"}}`
  );
}

/**
 * A replayed message: recorded content (already a JSON string literal) and recorded attributes
 * (already `,"k":"v"…`) after the harness's own, which stay first so the receive fast path reads them.
 */
export function encodeReplayMessage(contentJson: string, a: SendAttributes, attributesJson: string): string {
  const gap = a.gapFrom ? `"g":"${a.gapFrom}",` : '';
  return (
    `{"Action":"SEND_MESSAGE","RequestId":"m${a.seq}","Content":${contentJson},` +
    `"Attributes":{${gap}"t":"${a.sendTime.toFixed(3)}","s":"${a.sender}","n":"${a.seq}"${attributesJson}}}`
  );
}

export function encodeDeleteMessage(requestId: string, id: string, reason: string): string {
  return JSON.stringify({ Action: 'DELETE_MESSAGE', RequestId: requestId, Id: id, Reason: reason });
}

export function encodeDisconnectUser(requestId: string, userId: string, reason: string): string {
  return JSON.stringify({ Action: 'DISCONNECT_USER', RequestId: requestId, UserId: userId, Reason: reason });
}

/** The sequence number in a SEND_MESSAGE RequestId ("m42" → 42), or 0. */
export function seqOfRequestId(requestId: string | undefined): number {
  if (!requestId || requestId.charCodeAt(0) !== 109 /* m */) return 0;
  const n = Number(requestId.slice(1));
  return Number.isInteger(n) && n > 0 ? n : 0;
}

// ---- server → client: fast path --------------------------------------------------------------

const MESSAGE_PREFIX = codes('{"Type":"MESSAGE","Id":"');
const AFTER_ID_REQUEST = codes('","RequestId":"');
const ATTR_T = codes(',"Attributes":{"t":"');
const ATTR_S = codes('","s":"');
const ATTR_N = codes('","n":"');
const ID_LENGTH = 12;

function codes(text: string): number[] {
  return Array.from(text, (c) => c.charCodeAt(0));
}

// One function serves strings (k6 delivers text frames as strings) and bytes (ws delivers
// Buffers); within one engine only one kind ever reaches it, so the branch stays monomorphic.
function at(data: string | Uint8Array, i: number): number {
  return typeof data === 'string' ? data.charCodeAt(i) : data[i]!;
}

function matches(data: string | Uint8Array, i: number, pattern: number[]): boolean {
  if (i + pattern.length > data.length) return false;
  for (let k = 0; k < pattern.length; k++) if (at(data, i + k) !== pattern[k]) return false;
  return true;
}

/**
 * Reads one of our MESSAGE frames into `out`. Returns the offset just past the attributes, or -1
 * when the frame is anything else (then use parseFrame).
 */
export function scanMessage(data: string | Uint8Array, out: MessageScan): number {
  if (!matches(data, 0, MESSAGE_PREFIX)) return -1;
  let i = MESSAGE_PREFIX.length;
  out.idStart = i;
  i += ID_LENGTH;
  if (matches(data, i, AFTER_ID_REQUEST)) {
    i += AFTER_ID_REQUEST.length;
    const end = data.length;
    for (;;) {
      if (i >= end) return -1;
      const c = at(data, i);
      if (c === 34 /* " */) break;
      if (c === 92 /* \ */) return -1;
      i++;
    }
    i++;
  } else if (at(data, i) === 34) {
    i++;
  } else {
    return -1;
  }
  if (!matches(data, i, ATTR_T)) return -1;
  i += ATTR_T.length;

  // Send time: digits, optionally a fraction. Integers up to 2^53 are exact in a double.
  let whole = 0;
  let fraction = 0;
  let scale = 1;
  let digits = 0;
  let c = at(data, i);
  while (c >= 48 && c <= 57) {
    whole = whole * 10 + (c - 48);
    digits++;
    c = at(data, ++i);
  }
  if (c === 46 /* . */) {
    c = at(data, ++i);
    while (c >= 48 && c <= 57) {
      fraction = fraction * 10 + (c - 48);
      scale *= 10;
      c = at(data, ++i);
    }
  }
  if (digits === 0 || !matches(data, i, ATTR_S)) return -1;
  out.sendTime = whole + fraction / scale;
  i += ATTR_S.length;

  let sender = 0;
  digits = 0;
  c = at(data, i);
  while (c >= 48 && c <= 57) {
    sender = sender * 10 + (c - 48);
    digits++;
    c = at(data, ++i);
  }
  if (digits === 0 || !matches(data, i, ATTR_N)) return -1;
  out.sender = sender;
  i += ATTR_N.length;

  let seq = 0;
  digits = 0;
  c = at(data, i);
  while (c >= 48 && c <= 57) {
    seq = seq * 10 + (c - 48);
    digits++;
    c = at(data, ++i);
  }
  if (digits === 0 || c !== 34) return -1;
  out.seq = seq;
  return i + 1;
}

const TYPE_MESSAGE = codes('{"Type":"MESSAGE"');

/**
 * Whether bytes[at, at + length) is one of chatstorm's MESSAGE frames, judged by its first
 * 17 bytes only (counting receive mode: no decode). Another server's field order reads as "no".
 */
export function isMessageFrame(bytes: Uint8Array, at: number, length: number): boolean {
  if (length < TYPE_MESSAGE.length) return false;
  for (let k = 0; k < TYPE_MESSAGE.length; k++) if (bytes[at + k] !== TYPE_MESSAGE[k]) return false;
  return true;
}

/** The 12-character Id of a frame scanMessage accepted. */
export function messageIdAt(data: string | Uint8Array, scan: MessageScan): string {
  if (typeof data === 'string') return data.slice(scan.idStart, scan.idStart + ID_LENGTH);
  let id = '';
  for (let k = 0; k < ID_LENGTH; k++) id += String.fromCharCode(data[scan.idStart + k]!);
  return id;
}

// ---- server → client: slow path --------------------------------------------------------------

export function parseFrame(text: string): ServerFrame | undefined {
  try {
    const frame = JSON.parse(text) as ServerFrame;
    return typeof frame === 'object' && frame !== null && typeof frame.Type === 'string' ? frame : undefined;
  } catch {
    return undefined;
  }
}

/** Our attributes from a parsed MESSAGE, in whatever order a server put them. */
export function readSendAttributes(attributes: Record<string, string> | undefined): SendAttributes | undefined {
  if (!attributes) return undefined;
  const sendTime = Number(attributes.t);
  const sender = Number(attributes.s);
  const seq = Number(attributes.n);
  if (!Number.isFinite(sendTime) || !Number.isInteger(sender) || !Number.isInteger(seq) || seq < 1) return undefined;
  const gapFrom = Number(attributes.g);
  return attributes.g !== undefined && Number.isInteger(gapFrom) && gapFrom >= 1 && gapFrom < seq ? { sendTime, sender, seq, gapFrom } : { sendTime, sender, seq };
}
