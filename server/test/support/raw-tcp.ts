import { connect } from 'node:net';

export interface TcpOutcome {
  /** Everything the server sent, as latin1 text. */
  received: string;
  /** When the server closed the connection (ms after connecting), or undefined if it still held it at `holdMs`. */
  closedAfterMs: number | undefined;
}

/**
 * Sends `chunks` over a raw TCP connection, `gapMs` apart, for input no HTTP or WebSocket client
 * will produce, and reports what came back and when the server closed. Never hangs: gives up
 * (and closes itself) after `holdMs`. `afterReply` chunks are sent only once the server has
 * answered something (e.g. after the 101 of an upgrade).
 */
export function tcpExchange(
  port: number,
  chunks: Array<string | Buffer>,
  options: { gapMs?: number; holdMs: number; afterReply?: Array<string | Buffer> },
): Promise<TcpOutcome> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = Buffer.alloc(0);
    let connectedAt = Date.now();
    let timer: NodeJS.Timeout | undefined;
    let replied = false;
    let gaveUp = false;
    socket.on('data', (data: Buffer) => {
      received = Buffer.concat([received, data]);
      if (!replied && options.afterReply) for (const chunk of options.afterReply) socket.write(chunk);
      replied = true;
    });
    // A server that cuts the connection mid-send makes writes fail: that is an outcome, not an error.
    socket.on('error', () => {});
    socket.once('close', () => {
      clearTimeout(timer);
      const closedAfterMs = Date.now() - connectedAt;
      resolve({ received: received.toString('latin1'), closedAfterMs: gaveUp ? undefined : closedAfterMs });
    });
    socket.once('connect', async () => {
      connectedAt = Date.now();
      timer = setTimeout(() => {
        gaveUp = true;
        socket.destroy();
      }, options.holdMs);
      for (const chunk of chunks) {
        if (socket.destroyed) return;
        socket.write(chunk);
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      }
    });
  });
}
