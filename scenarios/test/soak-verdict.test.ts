import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveProfile } from '../lib/profile.ts';
import { PROFILES } from '../profiles/index.ts';
import { validateProfile } from '../runner/profile-schema.ts';
import type { ServerSeriesPoint, TimelinePoint } from '../lib/results.ts';
import { seededRandom } from '../lib/seeded-random.ts';
import { judgeSlope, judgeSoak, MIN_SOAK_SAMPLES, theilSen } from '../lib/soak-verdict.ts';

// The slope test on crafted series: what must pass, what must fail, and what cannot be judged.

const random = seededRandom(11);
const noise = (amplitude: number) => (random() * 2 - 1) * amplitude;
/** Samples every `every` s over `minutes`: y = f(t in s). */
const series = (minutes: number, every: number, f: (t: number) => number) => {
  const x: number[] = [];
  const y: number[] = [];
  for (let t = 0; t <= minutes * 60; t += every) {
    x.push(t);
    y.push(f(t));
  }
  return { x, y };
};

describe('soak slope verdict', () => {
  it('a flat series is flat, with a zero slope and an interval around zero', () => {
    const { x, y } = series(10, 5, () => 120);
    const v = judgeSlope('rssMB', 'MB', x, y, 1);
    assert.equal(v.verdict, 'flat');
    assert.equal(v.slopePerMinute, 0);
    assert.ok(v.ciLowPerMinute <= 0 && v.ciHighPerMinute >= 0, JSON.stringify(v));
  });

  it('a series leaking 3 MB/min fails, and the fitted slope and interval contain 3', () => {
    const { x, y } = series(10, 5, (t) => 100 + (3 * t) / 60);
    const v = judgeSlope('rssMB', 'MB', x, y, 1);
    assert.equal(v.verdict, 'growing');
    assert.ok(Math.abs(v.slopePerMinute - 3) < 1e-9, String(v.slopePerMinute));
    assert.ok(Math.abs(v.intercept - 100) < 1e-6, String(v.intercept));
  });

  it('a noisy flat series passes: ±20 MB of noise and a GC sawtooth on a flat line', () => {
    const { x, y } = series(10, 5, (t) => 200 + noise(20) + ((t % 50) / 50) * 15);
    const v = judgeSlope('rssMB', 'MB', x, y, 1);
    assert.equal(v.verdict, 'flat', JSON.stringify(v));
    assert.ok(v.ciLowPerMinute < 1, JSON.stringify(v));
  });

  it('a noisy leaking series fails: 5 MB/min under ±20 MB of noise', () => {
    const { x, y } = series(10, 5, (t) => 200 + (5 * t) / 60 + noise(20));
    const v = judgeSlope('rssMB', 'MB', x, y, 1);
    assert.equal(v.verdict, 'growing', JSON.stringify(v));
    assert.ok(v.ciLowPerMinute > 1 && v.ciLowPerMinute <= 5 && v.ciHighPerMinute >= 5, JSON.stringify(v));
  });

  it('a slope significantly above zero but under its limit passes (the limit is the bar, not zero)', () => {
    const { x, y } = series(10, 5, (t) => 100 + (0.5 * t) / 60);
    const v = judgeSlope('rssMB', 'MB', x, y, 1);
    assert.ok(v.ciLowPerMinute > 0);
    assert.equal(v.verdict, 'flat');
  });

  it('open file descriptors fail on any significant growth (limit 0), and mostly tied counts stay flat', () => {
    const leaking = series(5, 2, (t) => 40 + Math.floor(t / 20));
    assert.equal(judgeSlope('openFds', 'fds', leaking.x, leaking.y, 0).verdict, 'growing');
    const steady = series(5, 2, (t) => (t % 37 === 0 ? 41 : 40));
    assert.equal(judgeSlope('openFds', 'fds', steady.x, steady.y, 0).verdict, 'flat');
  });

  it(`too few samples (fewer than ${MIN_SOAK_SAMPLES}) are said to be too few, not judged flat`, () => {
    const { x, y } = series(1, 10, (t) => 100 + t);
    assert.ok(x.length < MIN_SOAK_SAMPLES);
    assert.equal(judgeSlope('rssMB', 'MB', x, y, 1).verdict, 'too-few-samples');
    assert.equal(theilSen([1, 2], [3, 4]), undefined);
  });

  it('a very long series (12 h at 1 s) is fitted in bins and keeps its slope', () => {
    const { x, y } = series(720, 1, (t) => 100 + (2 * t) / 60 + noise(5));
    const fit = theilSen(x, y)!;
    assert.ok(Math.abs(fit.slope * 60 - 2) < 0.05, String(fit.slope * 60));
  });
});

describe('soak run verdict', () => {
  const profile = resolveProfile({ name: 'soak', description: '', duration: '2m', rampUp: '10s', soak: { warmup: '20s', limits: { rssMB: 5 } } });
  const point = (t: number, rssMB: number, extra: Partial<ServerSeriesPoint> = {}): ServerSeriesPoint => ({
    t,
    rssMB,
    heapUsedMB: 30,
    openFds: 50,
    eventLoopDelayP99Ms: 10,
    connections: 100,
    kibPerConnection: (rssMB * 1024) / 100,
    ...extra,
  });
  const timeline: TimelinePoint[] = Array.from({ length: 120 }, (_, t) => ({
    t,
    viewers: 100,
    target: 100,
    sentPerSecond: 10,
    deliveriesPerSecond: t % 10 === 0 ? 0 : 1000,
    p50Ms: 2,
    p99Ms: 8 + (t % 3),
    generatorCpuPercent: 30,
  }));

  it('passes a steady soak, judging samples only after the warm-up and before the load ended', () => {
    // Growth in the warm-up (ramp) and in the drain is not a leak.
    const pts = Array.from({ length: 130 }, (_, t) => point(t, t < 20 ? 50 + t * 5 : t > 120 ? 400 : 150));
    const soak = judgeSoak({ profile, series: pts, timeline, loadEndSeconds: 120, missing: 0, expected: 1000 });
    assert.deepEqual(soak.problems, []);
    assert.equal(soak.passed, true);
    assert.equal(soak.warmupSeconds, 20);
    const rss = soak.slopes.find((s) => s.series === 'rssMB')!;
    assert.equal(rss.samples, 101);
    assert.equal(rss.limitPerMinute, 5, 'the profile overrides the default limit');
    assert.ok(soak.slopes.some((s) => s.series === 'p99Ms' && s.verdict === 'flat'));
  });

  it('fails a leaking soak naming the series, and fails any loss', () => {
    const pts = Array.from({ length: 121 }, (_, t) => point(t, 150 + t / 6, { heapUsedMB: 30 + t / 10 }));
    const soak = judgeSoak({ profile, series: pts, timeline, loadEndSeconds: 120, missing: 3, expected: 1000 });
    assert.equal(soak.passed, false);
    assert.ok(soak.problems.some((p) => /^server RSS grows 10\.0+ MB\/min/.test(p)), soak.problems.join('\n'));
    assert.ok(soak.problems.some((p) => p.startsWith('server heap used grows 6.0')), soak.problems.join('\n'));
    assert.ok(soak.problems.includes('3 of 1000 expected deliveries were lost: a soak allows none'));
  });

  it('does not judge a figure the target does not export, and fails a soak too short to judge', () => {
    const pts = Array.from({ length: 25 }, (_, t) => point(t, 150, { openFds: null }));
    const soak = judgeSoak({ profile, series: pts, timeline, loadEndSeconds: 24, missing: 0, expected: 10 });
    assert.ok(!soak.slopes.some((s) => s.series === 'openFds'));
    assert.equal(soak.passed, false);
    assert.match(soak.problems[0]!, /^server RSS: 5 sample\(s\) after the 20\.00 s warm-up, at least 10 are needed/);
  });
});

describe('soak policy', () => {
  it('a bad soak policy from the profile or --set is refused naming the field', () => {
    const refused = (soak: Record<string, unknown>, message: RegExp) =>
      assert.throws(() => validateProfile(resolveProfile(PROFILES.soak!, { soak })), message);
    refused({ limits: { rss: 5 } }, /soak\.limits: Unrecognized key: "rss"/);
    refused({ limits: { rssMB: -1 } }, /soak\.limits\.rssMB: Too small/);
    refused({ samplePeriod: '10ms' }, /soak\.samplePeriod: at least 100ms/);
    refused({ warmup: 'soon' }, /soak\.warmup: a duration such as/);
    assert.deepEqual(validateProfile(resolveProfile(PROFILES.soak!, { soak: { limits: { rssMB: 5 } } })).soak, { checkpointEvery: '1m', limits: { rssMB: 5 } });
  });
});
