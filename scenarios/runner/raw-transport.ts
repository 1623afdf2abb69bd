import { randomBytes, randomFillSync } from 'node:crypto';
import net from 'node:net';
import { isMessageFrame } from '../lib/codec.ts';
import type { ChatSocket, ReceiveCount, SocketEvents, Transport } from '../lib/ports.ts';

// A minimal RFC 6455 client on a bare TCP socket, for when the generator itself is the limit.
// Every socket of a worker reads into one shared buffer (net's `onread`): no stream machinery,
// no Buffer per read, and a frame is handed to the viewer as a view into that buffer, valid only
// during the call. What it leaves out, on purpose: TLS (use ws for wss://), extensions
// (IVS Chat negotiates none), and sending fragmented frames. It reads fragmented ones.
//
// Counting receive mode (SocketEvents.receiveCount): a MESSAGE frame is counted where it lies in
// the read buffer — no view, no string, no JSON — and only every Nth is handed to the viewer.
// Hand-written on purpose: this loop runs once per frame and is what the generator's cost per
// delivery is made of.

const READ_BUFFER = Buffer.allocUnsafe(256 * 1024);
const HANDSHAKE_END = Buffer.from('\r\n\r\n');
const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;

class RawSocket implements ChatSocket {
  private readonly socket: net.Socket;
  private state = CONNECTING;
  /** Bytes of an incomplete frame (or handshake) carried over to the next read. */
  private pending: Buffer | null = null;
  /** Payload of a fragmented message being assembled. */
  private fragments: Buffer[] | null = null;
  private closeCode = 1006;
  private refused = false;
  private timer: NodeJS.Timeout | null;
  private readonly count: ReceiveCount | null;

  constructor(
    url: URL,
    token: string,
    private readonly events: SocketEvents,
    handshakeTimeoutMs: number,
    private readonly totals: ReceiveTotals,
    private readonly read: { bytes: number },
  ) {
    this.count = events.receiveCount ?? null;
    const key = randomBytes(16).toString('base64');
    const host = url.port ? `${url.hostname}:${url.port}` : url.hostname;
    const request =
      `GET ${url.pathname || '/'}${url.search} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ${token}\r\n\r\n`;
    this.socket = net.connect({
      host: url.hostname,
      port: Number(url.port || 80),
      onread: { buffer: READ_BUFFER, callback: (n: number, buf: Uint8Array) => this.onRead(n, buf as Buffer) },
    });
    this.socket.setNoDelay(true);
    this.socket.on('connect', () => this.socket.write(request));
    this.socket.on('error', () => {});
    this.socket.on('close', () => this.finish());
    this.timer = setTimeout(() => this.socket.destroy(), handshakeTimeoutMs);
  }

  private onRead(n: number, buf: Buffer): boolean {
    this.read.bytes += n;
    // No subarray per read: `end` bounds the shared buffer instead.
    let data = buf;
    let end = n;
    if (this.pending) {
      data = Buffer.concat([this.pending, buf.subarray(0, n)]);
      end = data.length;
      this.pending = null;
    }
    let i = 0;
    if (this.state === CONNECTING) {
      const at = data.subarray(0, end).indexOf(HANDSHAKE_END);
      if (at < 0) {
        this.pending = Buffer.from(data.subarray(0, end));
        return true;
      }
      // "HTTP/1.1 101" — anything else is a refused upgrade (bad, used or expired token).
      if (data[9] !== 0x31 || data[10] !== 0x30 || data[11] !== 0x31) {
        this.refused = true;
        this.socket.destroy();
        return false;
      }
      clearTimeout(this.timer!);
      this.timer = null;
      this.state = OPEN;
      this.events.onOpen();
      i = at + 4;
    }
    const count = this.count;
    while (i < end) {
      if (end - i < 2) break;
      const b0 = data[i]!;
      const b1 = data[i + 1]!;
      let length = b1 & 0x7f;
      let header = 2;
      if (length === 126) {
        if (end - i < 4) break;
        length = data.readUInt16BE(i + 2);
        header = 4;
      } else if (length === 127) {
        if (end - i < 10) break;
        length = Number(data.readBigUInt64BE(i + 2));
        header = 10;
      }
      if (b1 & 0x80) {
        // Servers never mask (RFC 6455 5.1): a masked frame is a protocol error.
        this.close(1002);
        return false;
      }
      if (end - i - header < length) break;
      const start = i + header;
      i = start + length;
      // An unfragmented text frame that is a MESSAGE: counted where it lies, and only every
      // decodeEvery-th one goes on to the viewer (as a view: the one allocation left).
      if (count !== null && b0 === 0x81 && isMessageFrame(data, start, length)) {
        const frames = ++count.frames;
        count.bytes += length;
        this.totals.frames++;
        this.totals.bytes += length;
        if (frames % count.decodeEvery !== 0) continue;
        this.totals.decoded++;
      }
      this.frame(b0 & 0x80, b0 & 0x0f, data.subarray(start, i));
      if (this.state === CLOSED) return false;
    }
    if (i < end) this.pending = Buffer.from(data.subarray(i, end));
    return true;
  }

  private frame(fin: number, opcode: number, payload: Buffer): void {
    switch (opcode) {
      case 0x1:
      case 0x2:
        if (fin) {
          if (this.state === OPEN || this.state === CLOSING) this.events.onMessage(payload);
        } else {
          this.fragments = [Buffer.from(payload)];
        }
        return;
      case 0x0:
        if (!this.fragments) return;
        this.fragments.push(Buffer.from(payload));
        if (fin) {
          const whole = Buffer.concat(this.fragments);
          this.fragments = null;
          this.events.onMessage(whole);
        }
        return;
      case 0x8:
        this.closeCode = payload.length >= 2 ? payload.readUInt16BE(0) : 1005;
        if (this.state === OPEN) this.write(0x8, payload.subarray(0, 2));
        this.state = CLOSING;
        this.socket.end();
        return;
      case 0x9:
        this.write(0xa, payload);
        return;
      default:
        return;
    }
  }

  private write(opcode: number, payload: Buffer): void {
    if (this.socket.destroyed) return;
    const length = payload.length;
    const header = length < 126 ? 2 : length < 65536 ? 4 : 10;
    const frame = Buffer.allocUnsafe(header + 4 + length);
    frame[0] = 0x80 | opcode;
    if (header === 2) frame[1] = 0x80 | length;
    else if (header === 4) {
      frame[1] = 0x80 | 126;
      frame.writeUInt16BE(length, 2);
    } else {
      frame[1] = 0x80 | 127;
      frame.writeBigUInt64BE(BigInt(length), 2);
    }
    randomFillSync(frame, header, 4);
    for (let k = 0; k < length; k++) frame[header + 4 + k] = payload[k]! ^ frame[header + (k & 3)]!;
    this.socket.write(frame);
  }

  send(text: string): void {
    if (this.state !== OPEN) return;
    this.write(0x1, Buffer.from(text));
  }

  close(code = 1000): void {
    if (this.state === CONNECTING) {
      this.socket.destroy();
      return;
    }
    if (this.state !== OPEN) return;
    this.state = CLOSING;
    const payload = Buffer.allocUnsafe(2);
    payload.writeUInt16BE(code, 0);
    this.write(0x8, payload);
    // The server answers with its own close frame and ends the TCP connection; if it does not,
    // do not wait forever.
    setTimeout(() => this.socket.destroy(), 5000).unref();
  }

  private finish(): void {
    if (this.state === CLOSED) return;
    if (this.timer) clearTimeout(this.timer);
    this.state = CLOSED;
    this.events.onClose(this.closeCode, this.refused);
  }
}

/** Counting receive mode, over all of a transport's sockets: MESSAGE frames counted, bytes, and how many were decoded. */
export interface ReceiveTotals {
  frames: number;
  bytes: number;
  decoded: number;
}

export class RawTransport implements Transport {
  readonly totals: ReceiveTotals = { frames: 0, bytes: 0, decoded: 0 };
  private readonly read = { bytes: 0 };

  constructor(private readonly handshakeTimeoutMs = 30_000) {}

  open(url: string, token: string, events: SocketEvents): ChatSocket {
    return new RawSocket(new URL(url), token, events, this.handshakeTimeoutMs, this.totals, this.read);
  }

  /** The totals since the last call. */
  takeTotals(): ReceiveTotals {
    const t = { ...this.totals };
    this.totals.frames = 0;
    this.totals.bytes = 0;
    this.totals.decoded = 0;
    return t;
  }

  /** Bytes read from the sockets since the last call, in any receive mode. */
  takeBytesRead(): number {
    const n = this.read.bytes;
    this.read.bytes = 0;
    return n;
  }

  text(data: Uint8Array): string {
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  }
}
