import { once } from 'node:events';
import type { ChatstormControlPlane } from '../chatstorm-control-plane.ts';
import { startTsWorker } from '../ts-worker.ts';
import { atRate } from './at-rate.ts';
import type { FloodKind, FloodOrder, FloodReport } from './flood-worker.ts';
import { Samples, scrapeSeries } from './stats.ts';
import { attemptUpgrade } from './upgrade-attempt.ts';

// Part (a) of bench:floods: good handshakes (a token from CreateChatToken beforehand, then the
// upgrade, timed to the 101) at a steady rate, in phases without a flood, with a flood of bad
// tokens (forged, reused, garbage) and, as the control, with a flood of upgrades that carry no
// token at all (the same connection churn, no token work: what the tokens add is the difference).
// Phases alternate so drift on a shared machine falls on every condition alike. A warm-up phase
// of each flood comes first and is reported apart: the first seconds of a new load pattern on a
// cold server are JIT compilation (on the server's one core), not the steady cost of a flood.

export const CONDITIONS = ['quiet', 'bad-tokens', 'no-tokens'] as const;
export type Condition = (typeof CONDITIONS)[number];
const FLOODS: Record<Condition, FloodKind[]> = { quiet: [], 'bad-tokens': ['forged', 'reused', 'garbage'], 'no-tokens': ['missing'] };

export interface HandshakeFloodOptions {
  port: number;
  metricsUrl: string;
  control: ChatstormControlPlane;
  roomArn: string;
  goodPerSecond: number;
  floodPerSecond: number;
  phaseSeconds: number;
  warmUpSeconds: number;
  rounds: number;
  maxInFlight: number;
  progress: (line: string) => void;
}

export interface PhaseResult {
  condition: Condition;
  /** A warm-up phase: reported, not pooled into the condition's figures. */
  warmUp: boolean;
  /** The server's CPU use over the phase (process_cpu_seconds_total), in % of one core. */
  serverCpuPercent: number;
  /** The server's worst event-loop delay in the phase: a stall there delays every handshake. */
  serverLagMaxMs: number;
  good: { attempts: number; accepted: number; p50Ms: number; p99Ms: number; maxMs: number };
  bad: FloodReport;
}

export interface ConditionResult {
  p50Ms: number;
  p99Ms: number;
  samples: number;
  /** Mean over its phases, % of one core. */
  serverCpuPercent: number;
  /** Server CPU each flooding handshake adds over quiet. */
  serverMicrosecondsPerFloodHandshake: number;
  /** p99 / quiet p99. */
  p99Ratio: number;
}

export interface HandshakeFloodResult {
  phases: PhaseResult[];
  conditions: Record<Condition, ConditionResult>;
  /** bad-tokens p99 / quiet p99; the target is at most 2. */
  p99Ratio: number;
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
  const warmUpConditions = CONDITIONS.filter((c) => c !== 'quiet');
  const goodTotal = goodPerPhase * o.rounds * CONDITIONS.length + Math.round(o.goodPerSecond * o.warmUpSeconds) * warmUpConditions.length;
  o.progress(`minting ${goodTotal + 2} tokens`);
  const goodTokens = await mintTokens(o.control, o.roomArn, goodTotal, 'good');
  const [toReuse, toForge] = await mintTokens(o.control, o.roomArn, 2, 'flood');
  const used = await attemptUpgrade({ port: o.port, token: toReuse! });
  if (used.status !== 101) throw new Error(`the token to reuse was refused on first use: ${used.status} ${used.body}`);
  const worker = startTsWorker(new URL('./flood-worker.ts', import.meta.url));
  const startFlood = async (kinds: FloodKind[], seconds: number): Promise<FloodReport> => {
    const order: FloodOrder = { port: o.port, sealed: toForge!, reused: toReuse!, kinds, perSecond: o.floodPerSecond, seconds, maxInFlight: o.maxInFlight };
    worker.postMessage(order);
    return (await once(worker, 'message'))[0] as FloodReport;
  };

  const phases: PhaseResult[] = [];
  const pooled = Object.fromEntries(CONDITIONS.map((c) => [c, new Samples()])) as Record<Condition, Samples>;
  const badAnswers: Record<string, number> = {};
  let goodRefused = 0;
  let nextGood = 0;
  const schedule: { condition: Condition; warmUp: boolean; round: number }[] = warmUpConditions.map((condition) => ({ condition, warmUp: true, round: 0 }));
  for (let round = 1; round <= o.rounds; round++) for (const condition of CONDITIONS) schedule.push({ condition, warmUp: false, round });
  for (const { condition, warmUp, round } of schedule) {
    const seconds = warmUp ? o.warmUpSeconds : o.phaseSeconds;
    const samples = new Samples();
    const cpuStart = await serverCpu(o.metricsUrl);
    const pending: Promise<void>[] = [];
    let accepted = 0;
    const flooding: Promise<FloodReport> =
      condition === 'quiet' ? Promise.resolve({ sent: 0, skipped: 0, answers: {} }) : startFlood(FLOODS[condition], seconds);
    await atRate(o.goodPerSecond, seconds, () => {
      const token = goodTokens[nextGood++]!;
      pending.push(
        attemptUpgrade({ port: o.port, token }).then((answer) => {
          if (answer.status === 101) {
            accepted++;
            samples.add(answer.ms);
            if (!warmUp) pooled[condition].add(answer.ms);
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
    if (!warmUp) for (const [key, n] of Object.entries(bad.answers)) badAnswers[`${condition}: ${key}`] = (badAnswers[`${condition}: ${key}`] ?? 0) + n;
    const [p50, p99, max] = samples.percentiles(50, 99, 100);
    phases.push({
      condition,
      warmUp,
      serverCpuPercent,
      serverLagMaxMs: cpuEnd.lagMaxMs,
      good: { attempts: Math.round(o.goodPerSecond * seconds), accepted, p50Ms: p50!, p99Ms: p99!, maxMs: max! },
      bad,
    });
    o.progress(
      `${warmUp ? 'warm-up' : `round ${round}/${o.rounds}`} ${condition === 'quiet' ? 'quiet' : `${condition} flood ${o.floodPerSecond}/s`}: good p50 ${p50!.toFixed(2)} ms p99 ${p99!.toFixed(2)} ms, server CPU ${serverCpuPercent.toFixed(0)} %, loop lag max ${cpuEnd.lagMaxMs.toFixed(0)} ms` +
        (bad.sent ? `, ${bad.sent} flood handshakes${bad.skipped ? `, ${bad.skipped} skipped` : ''}` : ''),
    );
    await sleep(500);
  }
  await worker.terminate();
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const cpuOf = (c: Condition) => mean(phases.filter((p) => p.condition === c && !p.warmUp).map((p) => p.serverCpuPercent));
  const quietP99 = pooled.quiet.percentiles(99)[0]!;
  const conditions = Object.fromEntries(
    CONDITIONS.map((c) => {
      const [p50, p99] = pooled[c].percentiles(50, 99);
      const result: ConditionResult = {
        p50Ms: p50!,
        p99Ms: p99!,
        samples: pooled[c].count,
        serverCpuPercent: cpuOf(c),
        serverMicrosecondsPerFloodHandshake: c === 'quiet' ? 0 : ((cpuOf(c) - cpuOf('quiet')) / 100 / o.floodPerSecond) * 1e6,
        p99Ratio: p99! / quietP99,
      };
      return [c, result];
    }),
  ) as Record<Condition, ConditionResult>;
  return { phases, conditions, p99Ratio: conditions['bad-tokens'].p99Ratio, badAnswers, goodRefused };
}
