import { randomBytes } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { atRate } from './at-rate.ts';
import { attemptUpgrade } from './upgrade-attempt.ts';

// The bad-handshake flood of bench:floods, on a thread of its own so that its callbacks never
// delay the event loop that times the good handshakes: what the timing shows is the server.

export const FLOOD_KINDS = ['forged', 'reused', 'garbage'] as const;

export interface FloodOrder {
  port: number;
  /** A sealed token with one character changed: well-formed, but fails authentication. */
  forged: string;
  /** A token already used once. */
  reused: string;
  perSecond: number;
  seconds: number;
  /** Bad handshakes in flight at most; past it the flood skips (and says so) rather than pile up. */
  maxInFlight: number;
}

export interface FloodReport {
  sent: number;
  skipped: number;
  /** "status body" → count. */
  answers: Record<string, number>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function flood(order: FloodOrder): Promise<FloodReport> {
  const answers: Record<string, number> = {};
  let inFlight = 0;
  let sent = 0;
  let skipped = 0;
  await atRate(order.perSecond, order.seconds, (i) => {
    if (inFlight >= order.maxInFlight) {
      skipped++;
      return;
    }
    const kind = FLOOD_KINDS[i % FLOOD_KINDS.length]!;
    const token = kind === 'forged' ? order.forged : kind === 'reused' ? order.reused : randomBytes(48).toString('base64url');
    inFlight++;
    sent++;
    void attemptUpgrade({ port: order.port, token }).then((answer) => {
      inFlight--;
      const key = `${answer.status} ${answer.body}`;
      answers[key] = (answers[key] ?? 0) + 1;
    });
  });
  const deadline = performance.now() + 10_000;
  while (inFlight > 0 && performance.now() < deadline) await sleep(20);
  return { sent, skipped, answers };
}

parentPort!.on('message', (order: FloodOrder) => {
  void flood(order).then((report) => parentPort!.postMessage(report));
});
