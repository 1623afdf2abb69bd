import WebSocket from 'ws';
import type { ChatSocket, SocketEvents, Transport } from '../lib/ports.ts';

// ws, tuned for holding many mostly-receiving sockets: no permessage-deflate (IVS Chat does not
// negotiate it and inflating costs CPU per frame), no UTF-8 validation of frames we scan as bytes
// (bufferutil does the masking of what we send). The listeners are shared functions that find
// their viewer on the socket, so a connection costs no closures.

const EVENTS = Symbol('events');
const REFUSED = Symbol('refused');
const READ = Symbol('read');

interface Tagged extends WebSocket {
  [EVENTS]: SocketEvents;
  [REFUSED]?: boolean;
  [READ]: { bytes: number };
}

function onOpen(this: WebSocket): void {
  (this as Tagged)[EVENTS].onOpen();
}

function onMessage(this: WebSocket, data: Buffer): void {
  // The frame as it was on the wire: the payload and a server's unmasked header.
  (this as Tagged)[READ].bytes += data.length + (data.length < 126 ? 2 : data.length < 65536 ? 4 : 10);
  (this as Tagged)[EVENTS].onMessage(data);
}

function onError(this: WebSocket, error: Error): void {
  // ws reports a non-101 answer to the upgrade as this error, then closes with 1006.
  if (error.message.startsWith('Unexpected server response')) (this as Tagged)[REFUSED] = true;
}

function onClose(this: WebSocket, code: number): void {
  const ws = this as Tagged;
  ws[EVENTS].onClose(code, ws[REFUSED] === true);
}

export class WsTransport implements Transport {
  private readonly read = { bytes: 0 };

  constructor(private readonly handshakeTimeoutMs = 30_000) {}

  /** Bytes of the frames received since the last call. */
  takeBytesRead(): number {
    const n = this.read.bytes;
    this.read.bytes = 0;
    return n;
  }

  open(url: string, token: string, events: SocketEvents): ChatSocket {
    const ws = new WebSocket(url, [token], {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: this.handshakeTimeoutMs,
    }) as Tagged;
    ws[EVENTS] = events;
    ws[READ] = this.read;
    ws.on('open', onOpen);
    ws.on('message', onMessage);
    ws.on('error', onError);
    ws.on('close', onClose);
    return ws;
  }

  text(data: Uint8Array): string {
    return Buffer.from(data.buffer, data.byteOffset, data.byteLength).toString('utf8');
  }
}
