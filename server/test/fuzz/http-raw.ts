import { connect } from 'node:net';

// One HTTP request written as bytes on its own TCP connection, for what no HTTP client sends:
// lying Content-Length, heads that are not HTTP, a body trickled a few bytes at a time. The first
// response is parsed (status, headers, Content-Length body) and the connection's end is watched.

export interface HttpResponse {
  status: number;
  statusLine: string;
  headers: Record<string, string>;
  body: Buffer;
}

export interface HttpExchange {
  /** The first complete response, if one came. */
  response: HttpResponse | undefined;
  /** A response that could not be parsed (never acceptable). */
  malformed: string | undefined;
  /** The server ended the connection within the bound. */
  ended: boolean;
  /** Milliseconds until the response (or the end). */
  ms: number;
}

export interface SendOptions {
  /** Write the bytes in pieces of `chunk` bytes, `gapMs` apart. */
  trickle?: { chunk: number; gapMs: number };
  /** Half-close after writing (the client will send nothing more). */
  halfClose?: boolean;
  /** Wait for the end of the connection after the response, instead of stopping at the response. */
  awaitEnd?: boolean;
  boundMs: number;
}

export function sendHttp(url: string, bytes: Buffer, options: SendOptions): Promise<HttpExchange> {
  const { hostname, port } = new URL(url);
  const started = performance.now();
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.setNoDelay(true);
    let received = Buffer.alloc(0);
    let response: HttpResponse | undefined;
    let malformed: string | undefined;
    let done = false;
    const finish = (ended: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      resolve({ response, malformed, ended, ms: performance.now() - started });
    };
    const timer = setTimeout(() => finish(false), options.boundMs);
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (response || malformed) return;
      const parsed = parseResponse(received);
      if (parsed === undefined) return;
      if (typeof parsed === 'string') malformed = parsed;
      else response = parsed;
      if (!options.awaitEnd || malformed) finish(false);
    });
    socket.on('close', () => {
      if (!response && !malformed && received.length > 0) malformed = `the connection ended inside a response: ${received.toString('latin1').slice(0, 200)}`;
      finish(true);
    });
    socket.on('error', () => {
      // A reset: 'close' follows.
    });
    void (async () => {
      if (!options.trickle) socket.write(bytes);
      else {
        for (let i = 0; i < bytes.length && !done; i += options.trickle.chunk) {
          socket.write(bytes.subarray(i, i + options.trickle.chunk));
          await new Promise((r) => setTimeout(r, options.trickle!.gapMs));
        }
      }
      if (options.halfClose && !done) socket.end();
    })();
  });
}

/** A complete response, a string saying why it is malformed, or undefined when more bytes are needed. */
function parseResponse(bytes: Buffer): HttpResponse | string | undefined {
  const end = bytes.indexOf('\r\n\r\n');
  if (end < 0) return bytes.length > 64 * 1024 ? 'a response head over 64 KiB' : undefined;
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n');
  const statusLine = lines[0]!;
  const match = /^HTTP\/1\.[01] (\d{3}) /.exec(statusLine + ' ');
  if (!match) return `not an HTTP status line: ${statusLine.slice(0, 100)}`;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) return `a header line without a name: ${line.slice(0, 100)}`;
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  const status = Number(match[1]);
  if (status === 204 || status === 304) return { status, statusLine, headers, body: Buffer.alloc(0) };
  const length = headers['content-length'];
  if (length === undefined) return 'a response without Content-Length';
  if (!/^\d+$/.test(length)) return `Content-Length ${length}`;
  const bodyEnd = end + 4 + Number(length);
  if (bytes.length < bodyEnd) return undefined;
  return { status, statusLine, headers, body: Buffer.from(bytes.subarray(end + 4, bodyEnd)) };
}
