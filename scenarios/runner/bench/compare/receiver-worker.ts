import { parentPort } from 'node:worker_threads';
import type { ChatSocket } from '../../../lib/ports.ts';
import { RawTransport } from '../../raw-transport.ts';

// The receiving side of bench:compare, on a thread of its own: raw-socket viewers in the runner's
// counting receive mode (raw-transport.ts counts each MESSAGE frame where it lies in the read
// buffer: no view, no callback), and on every probeEvery-th socket every frame is also handed
// over, to read the send timestamp the sender put in its Attributes ("t") for the latency and the
// frame sizes. Nothing else per frame: the load side must cost less per delivery than the servers
// it measures, or the figures are its own.

export type ReceiverOrder =
  | { op: 'connect'; id: number; url: string; tokens: string[]; probeEvery: number; maxConnecting: number; timeoutMs: number }
  | { op: 'take'; id: number }
  | { op: 'close'; id: number };

export interface ReceiverTake {
  id: number;
  frames: number;
  bytes: number;
  /** Smallest and largest MESSAGE frame seen (bytes), to check all targets send the same. */
  minFrame: number;
  maxFrame: number;
  /** Arrival − send, ms, of the probe sockets' frames since the last take. */
  latencies: Float64Array;
  open: number;
  /** Sockets closed since connecting, by close code. */
  closed: Record<string, number>;
  failed: number;
}

const MARK = Buffer.from('"t":"');
const QUOTE = 0x22;
const transport = new RawTransport(30_000);
const now = () => performance.timeOrigin + performance.now();

/** Never decoded: plain sockets are only counted. */
const NEVER = Number.MAX_SAFE_INTEGER;

let sockets: ChatSocket[] = [];
let minFrame = Infinity;
let maxFrame = 0;
let latencies = new Float64Array(1 << 16);
let latencyCount = 0;
let open = 0;
let failed = 0;
let closed: Record<string, number> = {};

function sample(payload: Uint8Array): void {
  const buf = payload as Buffer;
  const at = buf.indexOf(MARK);
  if (at < 0) return;
  const start = at + MARK.length;
  const end = buf.indexOf(QUOTE, start);
  const sent = Number(buf.toString('latin1', start, end));
  if (latencyCount === latencies.length) {
    const grown = new Float64Array(latencies.length * 2);
    grown.set(latencies);
    latencies = grown;
  }
  latencies[latencyCount++] = now() - sent;
}

function connect(order: Extract<ReceiverOrder, { op: 'connect' }>): Promise<void> {
  const wsUrl = `${order.url.replace(/^http/, 'ws')}/`;
  let next = 0;
  let pending = 0;
  let settled = 0;
  return new Promise((resolve) => {
    const deadline = setTimeout(resolve, order.timeoutMs);
    const launch = () => {
      while (pending < order.maxConnecting && next < order.tokens.length) {
        const index = next++;
        const probe = index % order.probeEvery === 0;
        let opened = false;
        pending++;
        const done = () => {
          pending--;
          if (++settled === order.tokens.length) {
            clearTimeout(deadline);
            resolve();
          } else launch();
        };
        sockets.push(
          transport.open(wsUrl, order.tokens[index]!, {
            receiveCount: { decodeEvery: probe ? 1 : NEVER, frames: 0, bytes: 0 },
            onOpen: () => {
              opened = true;
              open++;
              done();
            },
            // Only a probe's frames come here (counted already), as views into the read buffer.
            onMessage: (data) => {
              const payload = data as Uint8Array;
              if (payload.byteLength < minFrame) minFrame = payload.byteLength;
              if (payload.byteLength > maxFrame) maxFrame = payload.byteLength;
              sample(payload);
            },
            onClose: (code) => {
              if (!opened) {
                failed++;
                done();
                return;
              }
              open--;
              closed[code] = (closed[code] ?? 0) + 1;
            },
          }),
        );
      }
    };
    launch();
  });
}

parentPort!.on('message', (order: ReceiverOrder) => {
  if (order.op === 'connect') {
    void connect(order).then(() => parentPort!.postMessage({ id: order.id, open, failed }));
    return;
  }
  if (order.op === 'take') {
    const { frames, bytes } = transport.takeTotals();
    const take: ReceiverTake = { id: order.id, frames, bytes, minFrame, maxFrame, latencies: latencies.slice(0, latencyCount), open, closed, failed };
    latencyCount = 0;
    parentPort!.postMessage(take);
    return;
  }
  for (const s of sockets) s.close();
  sockets = [];
  const deadline = performance.now() + 10_000;
  const wait = () => {
    if (open <= 0 || performance.now() > deadline) {
      open = 0;
      failed = 0;
      closed = {};
      minFrame = Infinity;
      maxFrame = 0;
      parentPort!.postMessage({ id: order.id });
    } else setTimeout(wait, 20);
  };
  wait();
});
