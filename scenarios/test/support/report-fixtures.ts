import { resolveProfile } from '../../lib/profile.ts';
import { RESULTS_SCHEMA_VERSION, type Percentiles, type RunResult, type ServerSeriesPoint, type StepResult, type TimelinePoint } from '../../lib/results.ts';
import { PROFILES } from '../../profiles/index.ts';

// Crafted results files in the agreed shapes (lib/results.ts) for the report tests: the capacity,
// soak and baseline runs of the other parts of issue 11 may not exist yet, and a test needs known
// figures (odd decimals, a gap, a broken step) to check that the page shows exactly those.

const pct = (p50: number, p99: number, count = 1000): Percentiles => ({ count, p50, p90: (p50 + p99) / 2, p99, p999: p99 * 1.3, max: p99 * 1.7, mean: p50 * 1.1 });

function timeline(seconds: number, gapAt: number[] = []): TimelinePoint[] {
  return Array.from({ length: seconds }, (_, k) => {
    const gap = gapAt.includes(k);
    return {
      t: k + 1,
      viewers: Math.min(400, 40 * (k + 1)),
      target: Math.min(400, 40 * (k + 1)),
      sentPerSecond: gap ? null : 20 + (k % 3),
      deliveriesPerSecond: gap ? null : 7_900 + 13.37 * k,
      p50Ms: gap ? null : 3.2 + k / 10,
      p99Ms: gap ? null : 11.5 + k / 5,
      generatorCpuPercent: 40 + k,
    };
  });
}

export function normalRun(): RunResult {
  return {
    schemaVersion: RESULTS_SCHEMA_VERSION,
    scenario: 'fanout',
    engine: 'node',
    target: { url: 'http://127.0.0.1:1', kind: 'embedded' },
    startedAt: '2026-11-29T09:00:00.000Z',
    durationSeconds: 31.4159,
    profile: resolveProfile(PROFILES.fanout!),
    viewers: { peak: 400, target: 400, connects: { ok: 400, refused: 0, error: 0 }, disconnects: { client: 400, server: 0, moderation: 0, session_expired: 0, error: 0 } },
    handshakeMs: pct(4.25, 19.875),
    tokenMs: pct(1.5, 6.25),
    messages: { sent: 12_345, acked: 12_340, rejected: 2, unacked: 3, perSecond: 411.5 },
    ackLatencyMs: pct(2.5, 9.75),
    deliveries: {
      expected: 1_234_567,
      delivered: 1_234_560,
      missing: 7,
      duplicated: 0,
      outOfOrder: 1,
      frames: 1_234_561,
      perSecond: 41_152.0333,
      peakPerSecond: 52_001.75,
      lossRatio: 7 / 1_234_567,
      accounting: 'exact',
    },
    latencyMs: pct(5.125, 48.6875),
    errors: { '429': 2, '406': 1 },
    apiErrors: { 'CreateChatToken 500': 3 },
    moderation: { actions: { delete_message: { websocket: 0, http: 0 }, disconnect_user: { websocket: 0, http: 0 } }, eventsReceived: { deleteMessage: 0, disconnectUser: 0 } },
    generator: { cpuPercent: 63.25, cores: 2, workers: 1, rssMB: 210.5, eventLoopDelayP99Ms: 12.5, bottleneck: false, warnings: [] },
    timeline: timeline(30),
    thresholds: [{ expression: 'p99 < 250ms', observed: 48.6875, pass: true }],
    passed: true,
    verdict: 'passed',
  };
}

function step(step: number, viewers: number, deliveriesPerSecond: number, p99: number, broken: boolean): StepResult {
  return { step, viewers, deliveriesPerSecond, latencyMs: pct(p99 / 4, p99), missing: broken ? 12 : 0, expected: viewers * 100, broken };
}

/**
 * The run the issue found: `passed` is true (its thresholds held), yet the sweep broke at its third
 * step at the generator's limit, and one interval had no report.
 */
export function capacityRun(): RunResult {
  const r = normalRun();
  r.scenario = 'capacity';
  r.profile = resolveProfile(PROFILES.capacity!);
  r.timeline = timeline(24, [9]);
  r.steps = [step(0, 1_000, 20_000.5, 12.25, false), step(1, 2_000, 40_100.25, 31.5, false), step(2, 3_000, 44_000.75, 912.125, true)];
  r.capacity = {
    lastGoodStep: 2,
    lastGoodViewers: 2_000,
    breakingStep: 3,
    reason: 'held 2000 viewers (step 2, p99 31.5 ms); broke at step 3 with 3000 viewers: p99 912.1 ms (p99 ≤ 250ms, loss ≤ 0 %)',
    knee: { step: 2, deliveriesPerSecond: 40_100.25, p99Ms: 31.5 },
    boundBy: 'generator',
  };
  r.generator = { ...r.generator, bottleneck: true, warnings: ['generator CPU 97 % of its cores: the figures are the generator’s limit'] };
  r.passed = true;
  delete r.verdict;
  return r;
}

export function soakRun(): RunResult {
  const r = normalRun();
  r.scenario = 'soak';
  r.profile = resolveProfile(PROFILES.soak!);
  const series: ServerSeriesPoint[] = Array.from({ length: 20 }, (_, k) => ({
    t: k * 5,
    rssMB: 100 + k * 0.5 + (k % 2) * 0.2,
    heapUsedMB: 40 + (k % 3) * 0.1,
    openFds: 420 + (k % 2),
    eventLoopDelayP99Ms: 2.5,
    connections: 400,
    kibPerConnection: ((100 + k * 0.5) * 1024) / 400,
  }));
  r.serverSeries = series;
  r.soak = {
    warmupSeconds: 20,
    series,
    slopes: [
      { series: 'rssMB', unit: 'MB', slopePerMinute: 6.0125, ciLowPerMinute: 5.5, ciHighPerMinute: 6.5, intercept: 102.0, samples: 16, limitPerMinute: 1, verdict: 'growing' },
      { series: 'heapUsedMB', unit: 'MB', slopePerMinute: 0.0125, ciLowPerMinute: -0.1, ciHighPerMinute: 0.12, intercept: 40.1, samples: 16, limitPerMinute: 1, verdict: 'flat' },
      { series: 'openFds', unit: 'fds', slopePerMinute: 0, ciLowPerMinute: -0.5, ciHighPerMinute: 0.5, intercept: 420.5, samples: 16, limitPerMinute: 2, verdict: 'flat' },
    ],
    problems: ['rssMB grows 6.01 MB/min [5.50, 6.50], above 1 MB/min: a leak'],
    passed: false,
  };
  // As a runner that does not yet fold the soak verdict into `passed` would write it: the page
  // must still head it FAILED.
  r.passed = true;
  r.verdict = 'passed';
  return r;
}

export function baselineRun(): RunResult {
  const r = normalRun();
  r.baseline = {
    file: 'results/fanout-baseline.json',
    tolerancePercent: 10,
    figures: [
      { name: 'deliveries/s', unit: '/s', higherIsBetter: true, baseline: 45_000, current: 41_152.0333, changePercent: -8.5511, ciLowPercent: -12.25, ciHighPercent: -4.75, significant: true, regressed: false },
      { name: 'p99', unit: 'ms', higherIsBetter: false, baseline: 30.5, current: 48.6875, changePercent: 59.6311, ciLowPercent: 41.5, ciHighPercent: 77.75, significant: true, regressed: true },
      { name: 'server CPU µs/delivery', unit: 'µs', higherIsBetter: false, baseline: 2.5, current: 2.55, changePercent: 2, ciLowPercent: -3.5, ciHighPercent: 7.5, significant: false, regressed: false },
    ],
    passed: false,
  };
  r.passed = false;
  r.verdict = 'failed';
  return r;
}
