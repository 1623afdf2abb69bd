import { once } from 'node:events';
import type { ChatstormControlPlane } from '../chatstorm-control-plane.ts';
import { startTsWorker } from '../ts-worker.ts';
import { atRate } from './at-rate.ts';
import type { FloodOrder, FloodReport } from './flood-worker.ts';
import { Samples, scrapeSeries } from './stats.ts';
import { attemptUpgrade } from './upgrade-attempt.ts';

// Part (a) of bench:floods: good handshakes (a token from CreateChatToken beforehand, then the
// upgrade, timed to the 101) at a steady rate, in phases without and with a flood of bad ones
// (forged, reused, garbage tokens) at a fixed rate. Phases alternate so drift on a shared
// machine falls on both conditions alike.

export interface HandshakeFloodOptions {
  port: number;
  metricsUrl: string;
  control: ChatstormControlPlane;
  roomArn: string;
  goodPerSecond: number;
  floodPerSecond: number;
  phaseSeconds: number;
  rounds: number;
  maxInFlight: number;
  progress: (line: string) => void;
}

export interface PhaseResult {
  flood: boolean;
  /** The server's CPU use over the phase (process_cpu_seconds_total), in % of one core. */
  serverCpuPercent: number;
  /** The server's worst event-loop delay in the phase: a stall there delays every handshake. */
  serverLagMaxMs: number;
  good: { attempts: number; accepted: number; p50Ms: number; p99Ms: number; maxMs: number };
  bad: FloodReport;
}

export interface HandshakeFloodResult {
  phases: PhaseResult[];
  quiet: { p50Ms: number; p99Ms: number; samples: number };
  flooded: { p50Ms: number; p99Ms: number; samples: number };
  /** p99 with the flood / p99 without; the target is at most 2. */
  p99Ratio: number;
  /** The server's CPU (% of a core) in quiet and flood phases, and what one bad handshake adds. */
  serverCpu: { quietPercent: number; floodPercent: number; microsecondsPerBadHandshake: number };
  /** Every bad handshake's answer, as "status message" → count. */
  badAnswers: Record<string, number>;
  goodRefused: number;
}

async function mintTokens(control: ChatstormControlPlane, roomArn: string, count: number, prefix: string): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 64) {
    const batch = Array.from({ length: Math.min(64, count - i) }, (_, k) =>
      control.createChatToken({ roomArn, userId: `${prefix}-${i + k}`, capabilities: [], sessionDurationInMinutes: 180 }),
    );
    tokens.push(...(await Promise.all(batch)));
  }
  return tokens;
}

/** A sealed token with one character of its ciphertext changed: well-formed, but fails authentication. */
function forge(token: string): string {
  const at = Math.floor(token.length / 2);
  return token.slice(0, at) + (token[at] === 'A' ? 'B' : 'A') + token.slice(at + 1);
}

const CPU = 'chatstorm_process_cpu_seconds_total';
const LAG_MAX = 'chatstorm_nodejs_eventloop_lag_max_seconds';
/** The server's CPU seconds, and its event-loop lag maximum since the previous scrape (prom-client resets it on each). */
async function serverCpu(metricsUrl: string) {
  const values = await scrapeSeries(metricsUrl, [CPU, LAG_MAX]);
  return { seconds: values[CPU]!, lagMaxMs: values[LAG_MAX]! * 1000, at: performance.now() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export async function runHandshakeFlood(o: HandshakeFloodOptions): Promise<HandshakeFloodResult> {
  const goodPerPhase = Math.round(o.goodPerSecond * o.phaseSeconds);
  o.progress(`minting ${goodPerPhase * o.rounds * 2 + 2} tokens`);
  const goodTokens = await mintTokens(o.control, o.roomArn, goodPerPhase * o.rounds * 2, 'good');
  const [toReuse, toForge] = await mintTokens(o.control, o.roomArn, 2, 'flood');
  const used = await attemptUpgrade({ port: o.port, token: toReuse! });
  if (used.status !== 101) throw new Error(`the token to reuse was refused on first use: ${used.status} ${used.body}`);
  const worker = startTsWorker(new URL('./flood-worker.ts', import.meta.url));
  const startFlood = async (seconds: number): Promise<FloodReport> => {
    const order: FloodOrder = { port: o.port, forged: forge(toForge!), reused: toReuse!, perSecond: o.floodPerSecond, seconds, maxInFlight: o.maxInFlight };
    worker.postMessage(order);
    return (await once(worker, 'message'))[0] as FloodReport;
  };

  const phases: PhaseResult[] = [];
  const quiet = new Samples();
  const flooded = new Samples();
  const badAnswers: Record<string, number> = {};
  let goodRefused = 0;
  let nextGood = 0;
  for (let round = 0; round < o.rounds; round++) {
    for (const flood of [false, true]) {
      const samples = new Samples();
      const cpuStart = await serverCpu(o.metricsUrl);
      const pending: Promise<void>[] = [];
      let accepted = 0;
      const flooding: Promise<FloodReport> = flood ? startFlood(o.phaseSeconds) : Promise.resolve({ sent: 0, skipped: 0, answers: {} });
      await atRate(o.goodPerSecond, o.phaseSeconds, () => {
        const token = goodTokens[nextGood++]!;
        pending.push(
          attemptUpgrade({ port: o.port, token }).then((answer) => {
            if (answer.status === 101) {
              accepted++;
              samples.add(answer.ms);
              (flood ? flooded : quiet).add(answer.ms);
            } else {
              goodRefused++;
            }
          }),
        );
      });
      await Promise.all(pending);
      const bad = await flooding;
      const cpuEnd = await serverCpu(o.metricsUrl);
      const serverCpuPercent = ((cpuEnd.seconds - cpuStart.seconds) / ((cpuEnd.at - cpuStart.at) / 1000)) * 100;
      for (const [key, n] of Object.entries(bad.answers)) badAnswers[key] = (badAnswers[key] ?? 0) + n;
      const [p50, p99, max] = samples.percentiles(50, 99, 100);
      phases.push({
        flood,
        serverCpuPercent,
        serverLagMaxMs: cpuEnd.lagMaxMs,
        good: { attempts: goodPerPhase, accepted, p50Ms: p50!, p99Ms: p99!, maxMs: max! },
        bad,
      });
      o.progress(
        `round ${round + 1}/${o.rounds} ${flood ? `flood ${o.floodPerSecond}/s` : 'quiet'}: good p50 ${p50!.toFixed(2)} ms p99 ${p99!.toFixed(2)} ms, server CPU ${serverCpuPercent.toFixed(0)} %, loop lag max ${cpuEnd.lagMaxMs.toFixed(0)} ms` +
          (flood ? `, ${bad.sent} bad sent${bad.skipped ? `, ${bad.skipped} skipped` : ''}` : ''),
      );
      await sleep(500);
    }
  }
  await worker.terminate();
  const [qp50, qp99] = quiet.percentiles(50, 99);
  const [fp50, fp99] = flooded.percentiles(50, 99);
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const quietCpu = mean(phases.filter((p) => !p.flood).map((p) => p.serverCpuPercent));
  const floodCpu = mean(phases.filter((p) => p.flood).map((p) => p.serverCpuPercent));
  return {
    phases,
    serverCpu: { quietPercent: quietCpu, floodPercent: floodCpu, microsecondsPerBadHandshake: ((floodCpu - quietCpu) / 100 / o.floodPerSecond) * 1e6 },
    quiet: { p50Ms: qp50!, p99Ms: qp99!, samples: quiet.count },
    flooded: { p50Ms: fp50!, p99Ms: fp99!, samples: flooded.count },
    p99Ratio: fp99! / qp99!,
    badAnswers,
    goodRefused,
  };
}
