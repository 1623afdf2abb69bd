import { randomBytes } from 'node:crypto';
import { parentPort } from 'node:worker_threads';
import { atRate } from './at-rate.ts';
import { attemptUpgrade } from './upgrade-attempt.ts';

// The bad-handshake flood of bench:floods, on a thread of its own so that its callbacks never
// delay the event loop that times the good handshakes: what the timing shows is the server.

/** 'missing' (no token at all) is the control: the same connection churn without any token work. */
export const FLOOD_KINDS = ['forged', 'reused', 'garbage', 'missing'] as const;
export type FloodKind = (typeof FLOOD_KINDS)[number];

export interface FloodOrder {
  port: number;
  /** A valid sealed token, never used: each forged attempt changes one character of it. */
  sealed: string;
  /** A token already used once. */
  reused: string;
  /** Taken in turn. */
  kinds: FloodKind[];
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

/**
 * The sealed token with one character of its ciphertext changed, a different one each time (so
 * no server-side cache of refused tokens could help): well-formed, but fails authentication. The
 * "v1." prefix and the last two characters (which may carry only padding bits) are left alone.
 */
function forge(sealed: string, i: number): string {
  const at = 3 + ((i * 7919) % (sealed.length - 5));
  return sealed.slice(0, at) + (sealed[at] === 'A' ? 'B' : 'A') + sealed.slice(at + 1);
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
    const kind = order.kinds[i % order.kinds.length]!;
    const token =
      kind === 'forged' ? forge(order.sealed, i) : kind === 'reused' ? order.reused : kind === 'garbage' ? randomBytes(48).toString('base64url') : undefined;
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
