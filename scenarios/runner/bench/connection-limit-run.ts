import type net from 'node:net';
import type { ChatstormControlPlane } from '../chatstorm-control-plane.ts';
import { processMemory } from './process-memory.ts';
import { scrapeSeries } from './stats.ts';
import { attemptUpgrade } from './upgrade-attempt.ts';

// Part (b) of bench:floods: a server started with --max-connections N is filled to N, then takes
// rounds of refused handshakes (each with a valid token, so only the limit refuses them). The
// server's RSS after each round shows what a refused connection costs: a slope of about zero.

export interface ConnectionLimitOptions {
  port: number;
  pid: number;
  metricsUrl: string;
  control: ChatstormControlPlane;
  roomArn: string;
  maxConnections: number;
  refusedPerRound: number;
  rounds: number;
  concurrency: number;
  progress: (line: string) => void;
}

export interface ConnectionLimitResult {
  held: number;
  refused: number;
  answers: Record<string, number>;
  /** RSS after the warm-up round, then after each round. */
  rssBytes: number[];
  /** Least-squares slope of RSS over the refused handshakes after the warm-up, in bytes per refused handshake. */
  bytesPerRefused: number;
  connectionsGauge: { before: number; after: number };
  connectionLimitOutcomes: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i]! - mx) * (ys[i]! - my);
    den += (xs[i]! - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export async function runConnectionLimit(o: ConnectionLimitOptions): Promise<ConnectionLimitResult> {
  const held: net.Socket[] = [];
  const mint = (userId: string) => o.control.createChatToken({ roomArn: o.roomArn, userId, capabilities: [], sessionDurationInMinutes: 180 });
  try {
    o.progress(`filling the server to --max-connections ${o.maxConnections}`);
    for (let i = 0; i < o.maxConnections; i += 50) {
      const batch = Array.from({ length: Math.min(50, o.maxConnections - i) }, async (_, k) => {
        const answer = await attemptUpgrade({ port: o.port, token: await mint(`held-${i + k}`), keep: (socket) => held.push(socket) });
        if (answer.status !== 101) throw new Error(`connection ${i + k} of ${o.maxConnections} refused: ${answer.status} ${answer.body}`);
      });
      await Promise.all(batch);
    }
    // One valid token serves every refused attempt: the limit is checked before a token is spent.
    const token = await mint('refused');
    const series = ['chatstorm_connections', 'chatstorm_handshakes_total{outcome="connection_limit"}'];
    const before = await scrapeSeries(o.metricsUrl, series);
    const answers: Record<string, number> = {};
    const rss: number[] = [];
    // Round 0 warms up (code paths compiled, buffers sized) and sets the baseline RSS.
    for (let round = 0; round <= o.rounds; round++) {
      let next = 0;
      const worker = async () => {
        while (next < o.refusedPerRound) {
          next++;
          const answer = await attemptUpgrade({ port: o.port, token });
          const key = `${answer.status} ${answer.body}`;
          answers[key] = (answers[key] ?? 0) + 1;
        }
      };
      await Promise.all(Array.from({ length: o.concurrency }, worker));
      await sleep(500);
      rss.push(processMemory(o.pid).rssBytes);
      o.progress(`${round === 0 ? 'warm-up' : `round ${round}/${o.rounds}`}: ${(round + 1) * o.refusedPerRound} refused, server RSS ${(rss.at(-1)! / 2 ** 20).toFixed(1)} MiB`);
    }
    const after = await scrapeSeries(o.metricsUrl, series);
    const xs = rss.map((_, i) => i * o.refusedPerRound);
    return {
      held: held.length,
      refused: (o.rounds + 1) * o.refusedPerRound,
      answers,
      rssBytes: rss,
      bytesPerRefused: slope(xs, rss),
      connectionsGauge: { before: before[series[0]!]!, after: after[series[0]!]! },
      connectionLimitOutcomes: after[series[1]!]! - before[series[1]!]!,
    };
  } finally {
    for (const socket of held) socket.destroy();
  }
}
