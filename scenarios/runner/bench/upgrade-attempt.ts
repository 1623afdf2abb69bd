import { randomBytes } from 'node:crypto';
import net from 'node:net';

// One WebSocket upgrade on a bare TCP socket, timed from connect() to the server's answer: the
// cheapest client there is, so a flood of them and the handshakes being timed share the
// generator's core without the client becoming what is measured.

export interface UpgradeAnswer {
  /** HTTP status of the answer (101 when accepted); 0 when no answer came (reset, timeout). */
  status: number;
  /** The body of a refusal (the server's JSON); '' for 101. */
  body: string;
  /** Milliseconds from connect() to the end of the answer's headers (and body, for a refusal). */
  ms: number;
  /** Of which until the TCP connection was established (NaN if it never was). */
  connectMs: number;
}

// A client close frame (1000) with an all-zero mask, so its payload goes as is.
const CLOSE_FRAME = Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]);
const HEADERS_END = '\r\n\r\n';

export interface UpgradeOptions {
  port: number;
  host?: string;
  /** Sec-WebSocket-Protocol; undefined sends none. */
  token: string | undefined;
  timeoutMs?: number;
  /**
   * On 101: keep the socket open and hand it over, with any bytes that came after the headers,
   * instead of closing it with 1000. Called before the socket reads again.
   */
  keep?: (socket: net.Socket, rest: Buffer) => void;
}

export function attemptUpgrade(options: UpgradeOptions): Promise<UpgradeAnswer> {
  const { port, host = '127.0.0.1', token, timeoutMs = 10_000 } = options;
  const request =
    `GET / HTTP/1.1\r\nHost: ${host}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
    (token === undefined ? '' : `Sec-WebSocket-Protocol: ${token}\r\n`) +
    '\r\n';
  return new Promise((resolve) => {
    const started = performance.now();
    let text = '';
    let done = false;
    let connectMs = NaN;
    const socket = net.connect({ port, host });
    socket.setNoDelay(true);
    const finish = (status: number, body: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve({ status, body, ms: performance.now() - started, connectMs });
    };
    const timer = setTimeout(() => {
      finish(0, 'timeout');
      socket.destroy();
    }, timeoutMs);
    socket.on('connect', () => {
      connectMs = performance.now() - started;
      socket.write(request);
    });
    socket.on('error', () => finish(0, 'error'));
    socket.on('close', () => {
      // A refusal without content-length ends at the close.
      const end = text.indexOf(HEADERS_END);
      if (end < 0) finish(0, 'closed before an answer');
      else finish(Number(text.slice(9, 12)), Buffer.from(text.slice(end + HEADERS_END.length), 'latin1').toString('utf8'));
    });
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      text += chunk.toString('latin1');
      const end = text.indexOf(HEADERS_END);
      if (end < 0) return;
      const status = Number(text.slice(9, 12));
      if (status === 101) {
        finish(101, '');
        if (options.keep) {
          socket.removeAllListeners('data');
          options.keep(socket, Buffer.from(text.slice(end + HEADERS_END.length), 'latin1'));
        } else {
          socket.end(CLOSE_FRAME);
        }
        return;
      }
      const length = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, end))?.[1];
      const body = text.slice(end + HEADERS_END.length);
      if (length !== undefined && Buffer.byteLength(body, 'latin1') < Number(length)) return;
      finish(status, Buffer.from(body, 'latin1').toString('utf8'));
      socket.destroy();
    });
  });
}
