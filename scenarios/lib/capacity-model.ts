import { findKnee } from './knee.ts';
import { generatorCanFail } from './thresholds.ts';
import type { CapacityKnee } from './results.ts';

// The per-node capacity model `npm run capacity` fits and `npm run plan` reads. Pure: the sweep
// hands in what it measured, this turns it into figures, each with its spread and what bound it.
// Schema documented in scenarios/README.md; fields are only ever added.

export const CAPACITY_MODEL_KIND = 'chatstorm-capacity-model';
export const CAPACITY_MODEL_VERSION = 1;

/**
 * What decided a figure. For a limit (deliveries/s, handshakes/s, tokens/s): "server" the server
 * crossed the SLO (or its CPU limit) there; "generator" the load generator saturated first, so the
 * server can do at least this; "none" the sweep ended before anything gave way (also "at least").
 * For a cost (µs, bytes per delivery or connection): "server" measured while the generator kept
 * up; "generator" every sample came from a generator-saturated window.
 */
export type BoundBy = 'server' | 'generator' | 'none';

export interface Spread {
  /** How many samples (windows or waves). */
  n: number;
  min: number;
  median: number;
  max: number;
}

export interface ModelFigure {
  value: number | null;
  unit: string;
  spread: Spread | null;
  boundBy: BoundBy;
  /** Why the value is null, or how it was measured when that matters to a reader. */
  note?: string;
}

/** One window of a step: a slice of its hold, after the audience was in. */
export interface SweepWindow {
  seconds: number;
  /** Deliveries the generator received in the window, per second. */
  deliveriesPerSecond: number;
  p99Ms: number;
  /** null without server counters. */
  serverCpuPercent: number | null;
  /** Server CPU microseconds per delivery the server made in the window. */
  cpuMicrosPerDelivery: number | null;
  bytesPerDelivery: number | null;
  /** How far behind the generator read (ms of its traffic, runner/receive-backlog.ts); null or absent when unknown. */
  generatorBacklogMs?: number | null;
  generatorBound: boolean;
}

export interface SweepStep {
  step: number;
  viewers: number;
  rooms: number;
  /** Messages per second per room. */
  ratePerRoom: number;
  /** The windows the step was judged on (the settled ones). */
  windows: SweepWindow[];
  settled: boolean;
  /** Missing / expected over the whole step. */
  lossRatio: number;
  missing: number;
  expected: number;
  errors: number;
  /** The runner's verdict on its own saturation over the step (runner/generator-bound.ts: its receive backlog, or its CPU when that is unknown). */
  generatorBound: boolean;
  /** Which SLO limits this step crossed, one phrase each (empty: within the SLO). */
  crossed: string[];
  /** The crossing was one a saturated generator can cause (latency): thresholds.ts generatorCanFail. */
  crossedByGenerator: boolean;
}

/** A connection storm: viewers join as fast as they can, in waves that stay connected. */
export interface StormWave {
  connections: number;
  seconds: number;
  /** Server RSS growth over the wave. */
  rssGrowthBytes: number | null;
  generatorBound: boolean;
}

export interface TokenStorm {
  tokens: number;
  seconds: number;
  errors: number;
  generatorBound: boolean;
}

export interface SweepSlo {
  p99Ms: number;
  loss: number;
  serverCpuPercent: number;
}

export interface CurvePoint {
  step: number;
  viewers: number;
  rooms: number;
  ratePerRoom: number;
  deliveriesPerSecond: number;
  p99Ms: number;
  serverCpuPercent: number | null;
  generatorBound: boolean;
  withinSlo: boolean;
}

export interface CapacityModel {
  kind: typeof CAPACITY_MODEL_KIND;
  schemaVersion: number;
  measuredAt: string;
  target: { url: string; kind: string };
  /** The machine the sweep ran on (for the embedded target, also the server's). */
  machine: { cores: number; totalMemoryBytes: number; cpuModel: string; node: string };
  /** Per node: one server process (--workers 1). */
  nodeWorkers: number;
  transport: string;
  slo: SweepSlo;
  figures: {
    /** Deliveries/s one node sustains within the SLO (the busiest step within it). */
    deliveriesPerSecondAtSlo: ModelFigure;
    memoryPerConnectionBytes: ModelFigure;
    handshakesPerSecond: ModelFigure;
    createChatTokenPerSecond: ModelFigure;
    cpuMicrosPerDelivery: ModelFigure;
    bytesPerDelivery: ModelFigure;
    /** Multi-node: the Redis bus's CPU per cross-node message (npm run bench:bus), when given. */
    busMicrosPerMessage?: ModelFigure;
  };
  curve: { points: CurvePoint[]; knee: CapacityKnee | null };
  /** What the sweep covered: the planner says so when it is asked beyond it. */
  measured: {
    maxViewersPerRoom: number;
    maxRooms: number;
    maxRatePerRoom: number;
    maxConnections: number;
    maxDeliveriesPerSecond: number;
    /** The lowest p99 any step measured: an SLO stricter than this was never seen met. */
    minP99Ms: number;
  };
  /** Some figure is the generator's limit, not the server's. */
  generatorBound: boolean;
  /** Why the sweep stopped, one sentence. */
  stoppedBy: string;
}

export function spreadOf(values: readonly number[]): Spread | null {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (v.length === 0) return null;
  const mid = Math.floor(v.length / 2);
  return { n: v.length, min: v[0]!, median: v.length % 2 ? v[mid]! : (v[mid - 1]! + v[mid]!) / 2, max: v[v.length - 1]! };
}

const median = (values: readonly number[]) => spreadOf(values)?.median ?? 0;

export function stepDeliveriesPerSecond(s: SweepStep): number {
  return median(s.windows.map((w) => w.deliveriesPerSecond));
}

export function stepP99Ms(s: SweepStep): number {
  return median(s.windows.map((w) => w.p99Ms));
}

export function stepServerCpuPercent(s: SweepStep): number | null {
  const cpu = s.windows.map((w) => w.serverCpuPercent).filter((x): x is number => x !== null);
  return cpu.length ? median(cpu) : null;
}

/**
 * Which SLO limits a step crossed, and whether a saturated generator could be why: only when every
 * crossing is one it can cause on its own (thresholds.ts generatorCanFail: latency, not loss or
 * errors); the server's own CPU is the server's.
 */
export function judgeStep(s: Pick<SweepStep, 'windows' | 'lossRatio' | 'errors' | 'missing' | 'expected'>, slo: SweepSlo): { crossed: string[]; byGenerator: boolean } {
  const crossed: string[] = [];
  let byGenerator = true;
  const cross = (text: string, expression: string | null) => {
    crossed.push(text);
    byGenerator &&= expression !== null && generatorCanFail(expression);
  };
  const p99 = median(s.windows.map((w) => w.p99Ms));
  if (s.windows.length && p99 > slo.p99Ms) cross(`p99 ${p99.toFixed(1)} ms > ${slo.p99Ms} ms`, `p99 <= ${slo.p99Ms}ms`);
  if (s.lossRatio > slo.loss) cross(`loss ${s.missing} of ${s.expected} > ${slo.loss * 100} %`, `loss <= ${slo.loss * 100}%`);
  if (s.errors > 0) cross(`${s.errors} error(s)`, 'errors == 0');
  const cpu = stepServerCpuPercent(s as SweepStep);
  if (cpu !== null && cpu > slo.serverCpuPercent) cross(`server CPU ${cpu.toFixed(0)} % > ${slo.serverCpuPercent} %`, null);
  return { crossed, byGenerator: crossed.length > 0 && byGenerator };
}

function figure(value: number | null, unit: string, samples: readonly number[], boundBy: BoundBy, note?: string): ModelFigure {
  return { value, unit, spread: spreadOf(samples), boundBy, ...(note ? { note } : {}) };
}

/**
 * A cost figure from the windows of the busiest step the generator kept up with: at low load the
 * server's fixed costs (timers, the /metrics scrape itself) are spread over few deliveries and
 * inflate the figure. Generator-saturated windows only when there is nothing else.
 */
function costFigure(steps: readonly SweepStep[], pick: (w: SweepWindow) => number | null, unit: string, what: string): ModelFigure {
  const busiestFirst = [...steps].sort((x, y) => stepDeliveriesPerSecond(y) - stepDeliveriesPerSecond(x));
  const values = (s: SweepStep, clean: boolean) =>
    s.windows.filter((w) => !clean || !(s.generatorBound || w.generatorBound)).map(pick).filter((x): x is number => x !== null);
  for (const s of busiestFirst) {
    const clean = values(s, true);
    if (clean.length) return figure(median(clean), unit, clean, 'server', `step ${s.step + 1}, the busiest the generator kept up with`);
  }
  for (const s of busiestFirst) {
    const any = values(s, false);
    if (any.length) return figure(median(any), unit, any, 'generator', `step ${s.step + 1}: every window was generator-saturated`);
  }
  return figure(null, unit, [], 'none', `the target's /metrics does not export ${what}`);
}

export interface FitInput {
  measuredAt: string;
  target: { url: string; kind: string };
  machine: CapacityModel['machine'];
  transport: string;
  slo: SweepSlo;
  steps: SweepStep[];
  storm: StormWave[];
  tokens: TokenStorm[];
  bus?: { microsPerMessage: number[]; source: string };
}

export function fitModel(i: FitInput): CapacityModel {
  const judged = i.steps;
  const breakAt = judged.findIndex((s) => s.crossed.length > 0);
  const within = breakAt === -1 ? judged : judged.slice(0, breakAt);
  const lastGood = within[within.length - 1];
  const broken = breakAt === -1 ? undefined : judged[breakAt];

  let boundBy: BoundBy;
  let stoppedBy: string;
  if (broken) {
    boundBy = broken.crossedByGenerator && broken.generatorBound ? 'generator' : 'server';
    stoppedBy =
      `step ${broken.step + 1} (${broken.viewers} viewers, ${broken.rooms} room(s), ${broken.ratePerRoom} msg/s per room) crossed the SLO: ${broken.crossed.join(', ')}` +
      (boundBy === 'generator' ? ' — with the generator saturated: the generator’s limit, not necessarily the server’s' : '');
  } else {
    boundBy = lastGood?.generatorBound ? 'generator' : 'none';
    stoppedBy = lastGood
      ? `every step stayed within the SLO${lastGood.generatorBound ? ', but the generator was saturated at the last' : ''}: the server can do at least this (add larger steps)`
      : 'no step ran';
  }
  // The busiest step within the SLO: steps go by the load they ask for, but rooms with fewer
  // viewers deliver fewer copies (a sender does not get its own), so the last is not always the most.
  const busiest = within.reduce<SweepStep | undefined>((a, b) => (!a || stepDeliveriesPerSecond(b) > stepDeliveriesPerSecond(a) ? b : a), undefined);
  const deliveries = busiest
    ? figure(stepDeliveriesPerSecond(busiest), 'deliveries/s', busiest.windows.map((w) => w.deliveriesPerSecond), boundBy)
    : figure(null, 'deliveries/s', [], boundBy, 'the first step already crossed the SLO: start the sweep smaller');

  const perConnection = i.storm.filter((w) => w.rssGrowthBytes !== null && w.connections > 0).map((w) => w.rssGrowthBytes! / w.connections);
  const memory = perConnection.length
    ? figure(median(perConnection), 'bytes', perConnection, i.storm.every((w) => w.generatorBound) ? 'generator' : 'server', 'server RSS growth per connection as waves of idle viewers joined')
    : figure(null, 'bytes', [], 'none', i.storm.length ? 'the target does not export its RSS' : 'no connection storm ran');

  const handshakeRates = i.storm.filter((w) => w.seconds > 0).map((w) => w.connections / w.seconds);
  const handshakes = handshakeRates.length
    ? figure(median(handshakeRates), 'handshakes/s', handshakeRates, i.storm.some((w) => w.generatorBound) ? 'generator' : 'server', 'CreateChatToken + WebSocket handshake per viewer, as fast as the viewers could join')
    : figure(null, 'handshakes/s', [], 'none', 'no connection storm ran');

  const tokenRates = i.tokens.filter((t) => t.seconds > 0).map((t) => t.tokens / t.seconds);
  const tokens = tokenRates.length
    ? figure(median(tokenRates), 'tokens/s', tokenRates, i.tokens.some((t) => t.generatorBound) ? 'generator' : 'server', 'concurrent CreateChatToken calls over HTTP')
    : figure(null, 'tokens/s', [], 'none', 'no token storm ran');

  const points: CurvePoint[] = judged.map((s) => ({
    step: s.step + 1,
    viewers: s.viewers,
    rooms: s.rooms,
    ratePerRoom: s.ratePerRoom,
    deliveriesPerSecond: stepDeliveriesPerSecond(s),
    p99Ms: stepP99Ms(s),
    serverCpuPercent: stepServerCpuPercent(s),
    generatorBound: s.generatorBound,
    withinSlo: s.crossed.length === 0,
  }));
  const kneeIndex = findKnee(points.map((p) => ({ x: p.deliveriesPerSecond, y: p.p99Ms })));
  const knee = kneeIndex === null ? null : { step: points[kneeIndex]!.step, deliveriesPerSecond: points[kneeIndex]!.deliveriesPerSecond, p99Ms: points[kneeIndex]!.p99Ms };

  const figures: CapacityModel['figures'] = {
    deliveriesPerSecondAtSlo: deliveries,
    memoryPerConnectionBytes: memory,
    handshakesPerSecond: handshakes,
    createChatTokenPerSecond: tokens,
    cpuMicrosPerDelivery: costFigure(within.length ? within : judged, (w) => w.cpuMicrosPerDelivery, 'µs CPU/delivery', 'its delivery counters'),
    bytesPerDelivery: costFigure(within.length ? within : judged, (w) => w.bytesPerDelivery, 'bytes/delivery', 'its delivered bytes'),
  };
  if (i.bus && i.bus.microsPerMessage.length) {
    figures.busMicrosPerMessage = figure(median(i.bus.microsPerMessage), 'µs CPU/bus message', i.bus.microsPerMessage, 'server', `from ${i.bus.source}`);
  }
  return {
    kind: CAPACITY_MODEL_KIND,
    schemaVersion: CAPACITY_MODEL_VERSION,
    measuredAt: i.measuredAt,
    target: i.target,
    machine: i.machine,
    nodeWorkers: 1,
    transport: i.transport,
    slo: i.slo,
    figures,
    curve: { points, knee },
    measured: {
      maxViewersPerRoom: Math.max(0, ...judged.map((s) => Math.ceil(s.viewers / s.rooms))),
      maxRooms: Math.max(0, ...judged.map((s) => s.rooms)),
      maxRatePerRoom: Math.max(0, ...judged.map((s) => s.ratePerRoom)),
      // Storm waves stay connected: the storm held their sum.
      maxConnections: Math.max(0, ...judged.map((s) => s.viewers), i.storm.reduce((sum, w) => sum + w.connections, 0)),
      maxDeliveriesPerSecond: Math.max(0, ...points.map((p) => p.deliveriesPerSecond)),
      minP99Ms: points.length ? Math.min(...points.map((p) => p.p99Ms)) : 0,
    },
    generatorBound: Object.values(figures).some((f) => f.boundBy === 'generator'),
    stoppedBy,
  };
}
