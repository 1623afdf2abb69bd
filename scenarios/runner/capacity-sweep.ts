import { formatDuration } from '../lib/duration.ts';
import { judgeStep, stepDeliveriesPerSecond, stepP99Ms, stepServerCpuPercent, type StormWave, type SweepSlo, type SweepStep, type SweepWindow, type TokenStorm } from '../lib/capacity-model.ts';
import { resolveProfile, type Profile } from '../lib/profile.ts';
import type { RunResult, TimelinePoint } from '../lib/results.ts';
import { now } from './clock.ts';
import { createControlPlane } from './control-plane.ts';
import { isGeneratorBound, medianKnown } from './generator-bound.ts';
import { BUSY_RATIO } from './generator-load.ts';
import { validateProfile } from './profile-schema.ts';
import { runScenario, type RunOptions } from './run.ts';
import { readServerCounters, type ServerCounters } from './server-counters.ts';
import type { Target } from './target.ts';

// `npm run capacity`: a stepped sweep, one runner run per step against the same target, each held
// until its windows settle (or for the longest hold), stopping at the first step that crosses the
// SLO. Before it, a connection storm (handshakes/s, memory per connection) and a CreateChatToken
// storm. What it measures goes to capacity-model.ts; this module only measures.

export interface SweepGrid {
  viewers: number[];
  /** Messages per second per room. */
  rates: number[];
  rooms: number[];
}

export interface SweepOptions {
  target: Target;
  grid: SweepGrid;
  chattersPerRoom: number;
  messageBytes: number;
  rampMs: number;
  /** The longest a step is held after its ramp; it ends earlier once settled. */
  holdMs: number;
  windowMs: number;
  /** Settled windows a step is judged on (its spread). */
  windows: number;
  slo: SweepSlo;
  /** Viewers of the connection storm (0: none), joining in `stormWaves` waves that stay connected. */
  stormViewers: number;
  stormWaves: number;
  /** CreateChatToken storm rounds and their length (0: none). */
  tokenRounds: number;
  tokenRoundMs: number;
  workers: number;
  transport: 'ws' | 'raw';
  /** --receive count: the runner decodes 1 MESSAGE frame in N and counts the rest. */
  decodeEvery?: number;
  progress: boolean;
  signal?: AbortSignal;
  log: (line: string) => void;
}

export interface StepSpec {
  viewers: number;
  rooms: number;
  ratePerRoom: number;
}

export interface SweepOutcome {
  startedAt: Date;
  steps: SweepStep[];
  /** The runner's result of each step, in order. */
  results: RunResult[];
  storm: StormWave[];
  tokens: TokenStorm[];
}

/** Two windows agree when their deliveries/s are this close (relative) and their p99 within SETTLED_P99. */
const SETTLED_RATE = 0.15;
const SETTLED_P99 = 0.3;
/** Below this, p99 differences are timer noise, not an unsettled step. */
const SETTLED_P99_FLOOR_MS = 5;
const TOKEN_CONCURRENCY = 16;

/** The grid's steps, in order of the load they ask for (deliveries/s = viewers × rate per room). */
export function sweepSteps(grid: SweepGrid): StepSpec[] {
  const out: StepSpec[] = [];
  for (const viewers of grid.viewers) for (const rooms of grid.rooms) for (const ratePerRoom of grid.rates) if (viewers >= rooms) out.push({ viewers, rooms, ratePerRoom });
  return out.sort((a, b) => a.viewers * a.ratePerRoom - b.viewers * b.ratePerRoom || a.rooms - b.rooms);
}

type Measured<P> = P & { deliveriesPerSecond: number; p99Ms: number };

/** A window with both figures: one without a report or a latency sample is a gap, not a zero. */
function measured<P extends Pick<TimelinePoint, 'deliveriesPerSecond' | 'p99Ms'>>(p: P): p is Measured<P> {
  return p.deliveriesPerSecond !== null && p.p99Ms !== null;
}

/** The last `n` windows, when they agree with each other (a gap among them: not settled yet). */
export function settled(points: readonly Pick<TimelinePoint, 'deliveriesPerSecond' | 'p99Ms'>[], n: number): boolean {
  if (points.length < n) return false;
  const window = points.slice(-n);
  if (!window.every(measured)) return false;
  const last = window.filter(measured);
  const rates = last.map((p) => p.deliveriesPerSecond);
  const p99s = last.map((p) => p.p99Ms);
  const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;
  const rate = mean(rates);
  const p99 = mean(p99s);
  return (
    rates.every((r) => Math.abs(r - rate) <= SETTLED_RATE * Math.max(rate, 1)) &&
    p99s.every((x) => Math.abs(x - p99) <= Math.max(SETTLED_P99 * p99, SETTLED_P99_FLOOR_MS))
  );
}

function stepProfile(o: SweepOptions, s: StepSpec): Profile {
  const chatters = Math.max(1, Math.min(o.chattersPerRoom, Math.floor(s.viewers / s.rooms)));
  return validateProfile(
    resolveProfile(
      {
        name: 'capacity-sweep',
        description: `capacity sweep step: ${s.viewers} viewers in ${s.rooms} room(s) at ${s.ratePerRoom} msg/s per room`,
        duration: `${o.rampMs + o.holdMs}ms`,
        rampUp: `${o.rampMs}ms`,
        steps: 0,
        drain: '2s',
        viewers: s.viewers,
        rooms: s.rooms,
        chattersPerRoom: chatters,
        rate: s.ratePerRoom / chatters,
        messageBytes: o.messageBytes,
        capacity: { p99: `${o.slo.p99Ms}ms`, loss: o.slo.loss, stopOnBreak: false },
        thresholds: [],
      },
    ),
  );
}

function runOptions(o: SweepOptions, profile: Profile, signal: AbortSignal, reportMs: number, onInterval: (p: TimelinePoint) => void): RunOptions {
  return {
    profile,
    target: o.target,
    workers: o.workers,
    transport: o.transport,
    progress: o.progress,
    reportMs,
    signal,
    log: o.log,
    onInterval,
    ...(o.decodeEvery ? { decodeEvery: o.decodeEvery } : {}),
  };
}

/**
 * An abort of the whole sweep (Ctrl-C) ends the current step too. `release` when the step is over,
 * or every step of a long sweep leaves a listener on the sweep's signal.
 */
function stepSignal(parent: AbortSignal | undefined): AbortController & { release: () => void } {
  const controller = new AbortController();
  const abort = () => controller.abort();
  if (parent?.aborted) controller.abort();
  parent?.addEventListener('abort', abort, { once: true });
  return Object.assign(controller, { release: () => parent?.removeEventListener('abort', abort) });
}

function serverWindow(before: ServerCounters | undefined, after: ServerCounters | undefined) {
  if (!before || !after || after.at <= before.at) return { serverCpuPercent: null, cpuMicrosPerDelivery: null, bytesPerDelivery: null };
  const cpu = after.cpuSeconds - before.cpuSeconds;
  const deliveries = after.deliveries !== null && before.deliveries !== null ? after.deliveries - before.deliveries : null;
  const bytes = after.deliveredBytes !== null && before.deliveredBytes !== null ? after.deliveredBytes - before.deliveredBytes : null;
  return {
    serverCpuPercent: (cpu / ((after.at - before.at) / 1000)) * 100,
    cpuMicrosPerDelivery: deliveries ? (cpu * 1e6) / deliveries : null,
    bytesPerDelivery: deliveries && bytes !== null ? bytes / deliveries : null,
  };
}

async function runLoadStep(o: SweepOptions, index: number, s: StepSpec): Promise<{ step: SweepStep; result: RunResult }> {
  const profile = stepProfile(o, s);
  const controller = stepSignal(o.signal);
  const metricsUrl = o.target.metricsUrl;
  const read = () => (metricsUrl ? readServerCounters(metricsUrl, now) : Promise.resolve(undefined));
  const before = read();
  const points: TimelinePoint[] = [];
  const counters: Promise<ServerCounters | undefined>[] = [];
  let held: TimelinePoint[] = [];
  let cores = 1;
  const result = await runScenario(
    runOptions(o, profile, controller.signal, o.windowMs, (p) => {
      points.push(p);
      counters.push(read());
      // Once settled the step drains: those windows are not part of the hold.
      if (controller.signal.aborted) return;
      // The first window after the ramp still holds its last joins: hold starts one window later.
      held = points.filter((x) => x.t * 1000 >= o.rampMs + o.windowMs && x.t * 1000 <= o.rampMs + o.holdMs);
      if (settled(held, o.windows)) controller.abort();
    }),
  );
  controller.release();
  cores = result.generator.cores;
  const reads = await Promise.all([before, ...counters]);
  const chosen = held.slice(-o.windows).filter(measured);
  const cpuBusy = (p: TimelinePoint) => p.generatorCpuPercent >= BUSY_RATIO * cores * 100;
  // Event-loop lag is a whole-run figure, not a window's: the backlog (or CPU) judges a window.
  const bound = (backlogMs: number | null, busy: boolean) => isGeneratorBound({ backlogMs, cpuBusy: busy, lagging: false }, o.slo.p99Ms);
  const windows: SweepWindow[] = chosen.map((p) => {
    const k = points.indexOf(p);
    const backlogMs = p.generatorBacklogMs ?? null;
    return {
      seconds: o.windowMs / 1000,
      deliveriesPerSecond: p.deliveriesPerSecond,
      p99Ms: p.p99Ms,
      ...serverWindow(reads[k], reads[k + 1]),
      generatorBacklogMs: backlogMs,
      generatorBound: bound(backlogMs, cpuBusy(p)),
    };
  });
  const d = result.deliveries;
  const errors = Object.values(result.errors).reduce((a, b) => a + b, 0) + Object.values(result.apiErrors).reduce((a, b) => a + b, 0);
  const partial = { windows, lossRatio: d.lossRatio, missing: d.missing, expected: d.expected, errors };
  const judged = judgeStep(partial, o.slo);
  const step: SweepStep = {
    step: index,
    viewers: s.viewers,
    rooms: s.rooms,
    ratePerRoom: s.ratePerRoom,
    ...partial,
    settled: settled(held, o.windows),
    // Judged on the held windows: the whole run's verdict also covers loading the worker and the
    // ramp's connect burst, which saturate the generator on a small step that it reads with ease.
    generatorBound: windows.length ? bound(medianKnown(windows.map((w) => w.generatorBacklogMs)), chosen.some(cpuBusy)) : result.generator.bottleneck,
    crossed: judged.crossed,
    crossedByGenerator: judged.byGenerator,
  };
  return { step, result };
}

/** Idle viewers join as fast as they can in waves that stay connected: handshakes/s and memory per connection. */
async function runStorm(o: SweepOptions): Promise<StormWave[]> {
  const waveMs = Math.max(2000, o.windowMs * 2);
  const profile = validateProfile(
    resolveProfile({
      name: 'capacity-storm',
      description: `connection storm: ${o.stormViewers} idle viewers in ${o.stormWaves} wave(s)`,
      duration: `${waveMs * o.stormWaves}ms`,
      rampUp: '0s',
      steps: o.stormWaves,
      drain: '1s',
      viewers: o.stormViewers,
      rooms: 1,
      chattersPerRoom: 0,
      rate: 0,
      connectRate: 0,
      capacity: { p99: `${o.slo.p99Ms}ms`, loss: 1, stopOnBreak: false },
      thresholds: [],
    }),
  );
  const metricsUrl = o.target.metricsUrl;
  const read = () => (metricsUrl ? readServerCounters(metricsUrl, now) : Promise.resolve(undefined));
  const before = await read();
  const points: TimelinePoint[] = [];
  const counters: Promise<ServerCounters | undefined>[] = [];
  const storm = stepSignal(o.signal);
  const result = await runScenario(
    runOptions(o, profile, storm.signal, 250, (p) => {
      points.push(p);
      counters.push(read());
    }),
  );
  storm.release();
  const reads = await Promise.all(counters);
  const waves: StormWave[] = [];
  let previousTarget = 0;
  let rssBefore = before?.rssBytes ?? null;
  for (let w = 0; w < o.stormWaves; w++) {
    const startS = (w * waveMs) / 1000;
    const endS = ((w + 1) * waveMs) / 1000;
    const inWave = points.map((p, k) => ({ p, k })).filter(({ p }) => p.t > startS && p.t <= endS);
    if (inWave.length === 0) break;
    const target = inWave[inWave.length - 1]!.p.target;
    const full = inWave.find(({ p }) => p.viewers >= target);
    const reached = (full ?? inWave[inWave.length - 1]!).p;
    const lastRead = reads[inWave[inWave.length - 1]!.k];
    const busy = inWave.filter(({ p }) => p.t <= reached.t).some(({ p }) => p.generatorCpuPercent >= BUSY_RATIO * result.generator.cores * 100);
    waves.push({
      connections: Math.max(0, reached.viewers - previousTarget),
      seconds: Math.max(0.001, reached.t - startS),
      rssGrowthBytes: rssBefore !== null && lastRead ? lastRead.rssBytes - rssBefore : null,
      generatorBound: busy || result.generator.bottleneck,
    });
    previousTarget = target;
    rssBefore = lastRead?.rssBytes ?? null;
  }
  return waves;
}

/** Concurrent CreateChatToken calls for a fixed time, from this thread; its own CPU says whether it kept up. */
async function runTokenStorm(o: SweepOptions): Promise<TokenStorm[]> {
  const control = createControlPlane(o.target.control);
  const room = await control.createRoom(`chatstorm-capacity-tokens-${Math.round(now()).toString(36)}`, 10);
  const rounds: TokenStorm[] = [];
  try {
    for (let r = 0; r < o.tokenRounds && !o.signal?.aborted; r++) {
      let tokens = 0;
      let errors = 0;
      const cpu = process.cpuUsage();
      const start = now();
      const end = start + o.tokenRoundMs;
      await Promise.all(
        Array.from({ length: TOKEN_CONCURRENCY }, async (_, c) => {
          while (now() < end) {
            try {
              await control.createChatToken({ roomArn: room.arn, userId: `token-storm-${c}`, capabilities: ['SEND_MESSAGE'], sessionDurationInMinutes: 60 });
              tokens++;
            } catch {
              errors++;
            }
          }
        }),
      );
      const seconds = (now() - start) / 1000;
      const used = process.cpuUsage(cpu);
      rounds.push({ tokens, seconds, errors, generatorBound: (used.user + used.system) / 1e6 / seconds >= BUSY_RATIO });
    }
  } finally {
    if (o.target.cleanUp) await control.deleteRoom(room.arn).catch(() => undefined);
  }
  return rounds;
}

function stepLine(s: SweepStep, total: number): string {
  const cpu = stepServerCpuPercent(s);
  const w = s.windows;
  const rate = w.map((x) => Math.round(x.deliveriesPerSecond).toLocaleString('en-US')).join(' / ');
  const backlog = medianKnown(w.map((x) => x.generatorBacklogMs));
  return (
    `step ${s.step + 1}/${total}: ${s.viewers.toLocaleString('en-US')} viewers, ${s.rooms} room(s), ${s.ratePerRoom} msg/s per room → ` +
    `${Math.round(stepDeliveriesPerSecond(s)).toLocaleString('en-US')} deliveries/s (windows ${rate}), p99 ${stepP99Ms(s).toFixed(1)} ms, ` +
    `server CPU ${cpu === null ? 'n/a' : `${cpu.toFixed(0)} %`}, ${s.settled ? 'settled' : 'not settled'}` +
    (backlog === null ? '' : `, generator behind ${backlog.toFixed(1)} ms`) +
    (s.generatorBound ? ', GENERATOR SATURATED' : '') +
    (s.crossed.length ? ` — crossed the SLO: ${s.crossed.join(', ')}` : ' — within the SLO')
  );
}

export async function runSweep(o: SweepOptions): Promise<SweepOutcome> {
  const startedAt = new Date(now());
  const specs = sweepSteps(o.grid);
  const outcome: SweepOutcome = { startedAt, steps: [], results: [], storm: [], tokens: [] };
  if (o.stormViewers > 0 && !o.signal?.aborted) {
    o.log(`connection storm: ${o.stormViewers.toLocaleString('en-US')} idle viewers in ${o.stormWaves} wave(s)`);
    outcome.storm = await runStorm(o);
    for (const [k, w] of outcome.storm.entries()) {
      o.log(
        `  wave ${k + 1}: ${w.connections} connections in ${w.seconds.toFixed(2)} s (${Math.round(w.connections / w.seconds)}/s)` +
          (w.rssGrowthBytes !== null ? `, server RSS +${(w.rssGrowthBytes / 1024).toFixed(0)} KiB` : '') +
          (w.generatorBound ? ', GENERATOR SATURATED' : ''),
      );
    }
  }
  if (o.tokenRounds > 0 && !o.signal?.aborted) {
    outcome.tokens = await runTokenStorm(o);
    const rates = outcome.tokens.map((t) => Math.round(t.tokens / t.seconds)).join(' / ');
    o.log(`CreateChatToken storm: ${rates} tokens/s over ${outcome.tokens.length} round(s) of ${formatDuration(o.tokenRoundMs)}`);
  }
  for (const [index, spec] of specs.entries()) {
    if (o.signal?.aborted) break;
    o.log(`step ${index + 1}/${specs.length}: ${spec.viewers.toLocaleString('en-US')} viewers, ${spec.rooms} room(s), ${spec.ratePerRoom} msg/s per room (held up to ${formatDuration(o.holdMs)})`);
    const { step, result } = await runLoadStep(o, index, spec);
    outcome.steps.push(step);
    outcome.results.push(result);
    o.log(stepLine(step, specs.length));
    if (step.crossed.length) break;
  }
  return outcome;
}
