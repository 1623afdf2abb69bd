import type { HttpResponse } from 'uWebSockets.js';

export interface BodyLimits {
  /** The largest body that is read; a larger one is refused. */
  maxBytes: number;
  /**
   * How much of a refused body is read and thrown away before the answer goes out. Closing with
   * unread bytes makes the kernel reset the connection, and a client still uploading (Node's
   * fetch, the AWS SDK) then reports EPIPE/ECONNRESET instead of the answer: nginx's "lingering
   * close" for the same reason. Past this the connection is cut.
   */
  maxDrainBytes: number;
  /**
   * The whole body, drained or not, must arrive within this many milliseconds of the request's
   * head: a client that trickles it is cut instead of holding a connection (slowloris).
   */
  timeoutMs: number;
}

export class BodyTooLargeError extends Error {
  constructor(
    readonly limit: number,
    /** False when the client was still sending at the drain bound: answer, then close. */
    readonly drained: boolean,
  ) {
    super(`request body exceeds ${limit} bytes`);
  }
}

export class BodyTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`request body not received within ${timeoutMs} ms`);
  }
}

/**
 * Collects a request body from uWS, which hands out chunks it reuses after the callback returns
 * (so each is copied). A body over `maxBytes` is not buffered: the rest is drained (see
 * BodyLimits) and the promise rejects with BodyTooLargeError once it is, or at the drain bound.
 * The caller owns onAborted and marks `response.aborted`: a response aborted mid-body simply never
 * settles, and is dropped.
 */
export function readBody(res: HttpResponse, limits: BodyLimits, response: { readonly aborted: boolean }): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const settle = (error: Error | undefined, body?: Buffer) => {
      settled = true;
      clearTimeout(deadline);
      if (error) reject(error);
      else resolve(body!);
    };
    const deadline = setTimeout(() => {
      if (settled || response.aborted) return;
      settle(size > limits.maxBytes ? new BodyTooLargeError(limits.maxBytes, false) : new BodyTimeoutError(limits.timeoutMs));
    }, limits.timeoutMs);
    // The server's own sockets keep the process alive; a pending body must not delay its exit.
    deadline.unref();
    res.onData((chunk, isLast) => {
      if (settled) return;
      size += chunk.byteLength;
      if (size > limits.maxBytes) {
        if (isLast) settle(new BodyTooLargeError(limits.maxBytes, true));
        else if (size - limits.maxBytes > limits.maxDrainBytes) settle(new BodyTooLargeError(limits.maxBytes, false));
        return;
      }
      chunks.push(Buffer.from(chunk.slice(0)));
      if (isLast) settle(undefined, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
  });
}
