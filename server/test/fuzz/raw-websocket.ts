import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

// A WebSocket client written against the bytes, for what no library will send: reserved opcodes,
// RSV bits, unmasked or fragmented frames, control frames with long payloads, invalid UTF-8. It
// also checks what the server sends back: every server frame must be well formed, unmasked, and a
// text frame must be valid UTF-8 holding one JSON object.

export const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;

export interface OutFrame {
  fin: boolean;
  /** The three RSV bits as a number 0–7; any non-zero value is a protocol violation without an extension. */
  rsv: number;
  opcode: number;
  /** Clients must mask (RFC 6455 §5.1); false sends a bare payload. */
  masked: boolean;
  payload: Buffer;
  /** Announce this length instead of the payload's own (a lie: a truncated or over-long frame). */
  announcedLength?: number;
}

export function encodeFrame(frame: OutFrame): Buffer {
  const length = frame.announcedLength ?? frame.payload.length;
  const head: number[] = [(frame.fin ? 0x80 : 0) | ((frame.rsv & 7) << 4) | (frame.opcode & 0x0f)];
  const maskBit = frame.masked ? 0x80 : 0;
  let extended: Buffer;
  if (length < 126) {
    head.push(maskBit | length);
    extended = Buffer.alloc(0);
  } else if (length < 0x10000) {
    head.push(maskBit | 126);
    extended = Buffer.alloc(2);
    extended.writeUInt16BE(length);
  } else {
    head.push(maskBit | 127);
    extended = Buffer.alloc(8);
    extended.writeBigUInt64BE(BigInt(length));
  }
  if (!frame.masked) return Buffer.concat([Buffer.from(head), extended, frame.payload]);
  const key = randomBytes(4);
  const body = Buffer.from(frame.payload);
  for (let i = 0; i < body.length; i++) body[i]! ^= key[i & 3]!;
  return Buffer.concat([Buffer.from(head), extended, key, body]);
}

export interface InFrame {
  opcode: number;
  payload: Buffer;
}

/** What the server sent, in order: parsed JSON for text frames, close code and reason, pongs. */
export type Received =
  | { kind: 'json'; value: Record<string, unknown> }
  | { kind: 'pong'; payload: Buffer }
  | { kind: 'ping'; payload: Buffer }
  | { kind: 'close-frame'; code: number | undefined; reason: string };

export class ServerFrameError extends Error {
  override name = 'ServerFrameError';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

export class RawWebSocket {
  readonly received: Received[] = [];
  /** Set when the TCP connection ended; `closeFrame` tells whether a close frame came first. */
  ended = false;
  /** A malformed frame from the server: always a failure of the server, never of the input. */
  serverError: ServerFrameError | undefined;
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: Array<() => void> = [];

  private constructor(
    readonly socket: Socket,
    leftover: Buffer,
  ) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => {
      // A reset is an end like any other; `ended` follows with 'close'.
    });
    if (leftover.length > 0) this.onData(leftover);
  }

  /**
   * Opens a connection with `token` as the subprotocol. Rejects with the HTTP status line when
   * the upgrade is refused, or after `ms`.
   */
  static open(url: string, token: string, ms = 5000): Promise<RawWebSocket> {
    const { hostname, port } = new URL(url);
    return new Promise((resolve, reject) => {
      const socket = connect({ host: hostname, port: Number(port) });
      socket.setNoDelay(true);
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`WebSocket handshake to ${url} not answered within ${ms} ms`));
      }, ms);
      let head = Buffer.alloc(0);
      const onData = (chunk: Buffer) => {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        socket.off('data', onData);
        clearTimeout(timer);
        const lines = head.subarray(0, end).toString('latin1').split('\r\n');
        if (!/^HTTP\/1\.1 101 /.test(lines[0]!)) {
          socket.destroy();
          reject(new Error(`upgrade refused: ${lines[0]}`));
          return;
        }
        resolve(new RawWebSocket(socket, head.subarray(end + 4)));
      };
      socket.on('data', onData);
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      socket.write(
        `GET / HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
          `Sec-WebSocket-Protocol: ${token}\r\n\r\n`,
      );
    });
  }

  write(bytes: Buffer): void {
    if (!this.ended && !this.socket.destroyed) this.socket.write(bytes);
  }

  /** Sends one well-formed masked text frame. */
  sendText(text: string): void {
    this.write(encodeFrame({ fin: true, rsv: 0, opcode: OPCODE.text, masked: true, payload: Buffer.from(text) }));
  }

  /** Resolves with the first received item at index ≥ `from` that matches, or undefined when the connection ends first or `ms` pass. */
  async waitFor(predicate: (item: Received) => boolean, from: number, ms: number): Promise<Received | undefined> {
    const deadline = Date.now() + ms;
    for (;;) {
      for (let i = from; i < this.received.length; i++) if (predicate(this.received[i]!)) return this.received[i];
      if (this.ended || this.serverError) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves true once the TCP connection has ended, false after `ms`. */
  async waitForEnd(ms: number): Promise<boolean> {
    const deadline = Date.now() + ms;
    while (!this.ended) {
      const left = deadline - Date.now();
      if (left <= 0) return false;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return true;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private wake(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    try {
      for (;;) {
        const frame = this.nextFrame();
        if (!frame) break;
        this.received.push(interpret(frame));
      }
    } catch (error) {
      this.serverError ??= error as ServerFrameError;
      this.socket.destroy();
    }
    this.wake();
  }

  private nextFrame(): InFrame | undefined {
    const b = this.buffer;
    if (b.length < 2) return undefined;
    const fin = (b[0]! & 0x80) !== 0;
    const rsv = (b[0]! >> 4) & 7;
    const opcode = b[0]! & 0x0f;
    if (!fin) throw new ServerFrameError(`the server sent a fragmented frame (opcode ${opcode}); chatstorm never fragments`);
    if (rsv !== 0) throw new ServerFrameError(`the server set RSV bits ${rsv} without an extension`);
    if ((b[1]! & 0x80) !== 0) throw new ServerFrameError('the server masked a frame');
    let length = b[1]! & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (b.length < 4) return undefined;
      length = b.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (b.length < 10) return undefined;
      length = Number(b.readBigUInt64BE(2));
      offset = 10;
    }
    if (b.length < offset + length) return undefined;
    const payload = Buffer.from(b.subarray(offset, offset + length));
    this.buffer = b.subarray(offset + length);
    return { opcode, payload };
  }
}

function interpret(frame: InFrame): Received {
  switch (frame.opcode) {
    case OPCODE.text: {
      let text: string;
      try {
        text = utf8.decode(frame.payload);
      } catch {
        throw new ServerFrameError(`the server sent a text frame that is not valid UTF-8: ${frame.payload.toString('hex').slice(0, 200)}`);
      }
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new ServerFrameError(`the server sent a text frame that is not JSON: ${text.slice(0, 200)}`);
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) {
        throw new ServerFrameError(`the server sent JSON that is not an object: ${text.slice(0, 200)}`);
      }
      return { kind: 'json', value: value as Record<string, unknown> };
    }
    case OPCODE.close: {
      if (frame.payload.length === 1) throw new ServerFrameError('the server sent a close frame with a one-byte payload');
      const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : undefined;
      let reason: string;
      try {
        reason = utf8.decode(frame.payload.subarray(2));
      } catch {
        throw new ServerFrameError('the server sent a close reason that is not valid UTF-8');
      }
      return { kind: 'close-frame', code, reason };
    }
    case OPCODE.ping:
      return { kind: 'ping', payload: frame.payload };
    case OPCODE.pong:
      return { kind: 'pong', payload: frame.payload };
    default:
      throw new ServerFrameError(`the server sent a frame with opcode ${frame.opcode}`);
  }
}
