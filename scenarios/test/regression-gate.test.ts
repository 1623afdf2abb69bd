import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunResult } from '../lib/results.ts';
import { compareWithBaseline } from '../runner/regression-gate.ts';
import { runBench } from './support/processes.ts';

// The regression gate: a real run against earlier results of the same profile, the noise of each
// figure taken from the run's own per-interval spread (or from repeats).

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;
const SMOKE = ['--profile', 'smoke', '--duration', '8s', '--workers', '1'];

/** The same run with every figure `better` times better (0.5: latency and memory halved, deliveries ×1.5). */
function better(r: RunResult, factor: number): RunResult {
  const copy = structuredClone(r);
  copy.timeline = copy.timeline.map((p) => ({ ...p, deliveriesPerSecond: p.deliveriesPerSecond === null ? null : p.deliveriesPerSecond * (2 - factor), p50Ms: (p.p50Ms ?? 0) * factor, p99Ms: p.p99Ms === null ? null : p.p99Ms * factor }));
  copy.serverSeries = copy.serverSeries!.map((p) => ({ ...p, rssMB: p.rssMB * factor, cpuSeconds: p.cpuSeconds! * factor }));
  copy.handshakeMs = { ...copy.handshakeMs, p99: copy.handshakeMs.p99 * factor };
  return copy;
}

describe('regression gate', () => {
  let dir: string;
  let first: string;
  let run: RunResult;
  before(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'chatstorm-gate-'));
    first = path.join(dir, 'first.json');
    const { code, output } = await runBench([...SMOKE, '--out', first], 90_000).finished;
    assert.equal(code, 0, output);
    run = readResult(first);
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a run compared with a crafted baseline 50 % better fails (exit 1), printing each figure’s change and significance', async () => {
    const crafted = path.join(dir, 'crafted.json');
    writeFileSync(crafted, JSON.stringify(better(run, 0.5)));
    const out = path.join(dir, 'second.json');
    // Shorter than the baseline run: 50 % is far outside this run's own spread even over 5 s.
    const { code, output } = await runBench([...SMOKE, '--duration', '5s', '--out', out, '--baseline', crafted], 90_000).finished;
    assert.equal(code, 1, output);
    const r = readResult(out);
    assert.equal(r.passed, false);
    assert.equal(r.baseline?.passed, false);
    assert.equal(r.baseline?.file, crafted);
    assert.deepEqual(r.baseline!.figures.map((f) => f.name), ['deliveries/s', 'latency p50', 'latency p99', 'handshake p99', 'server CPU per delivery', 'server RSS', 'loss']);
    const rss = r.baseline!.figures.find((f) => f.name === 'server RSS')!;
    assert.ok(rss.regressed && rss.significant && rss.changePercent > 50, JSON.stringify(rss));
    assert.match(output, /baseline +REGRESSED against .*crafted\.json \(tolerance 10 %, 95 % intervals\)/);
    assert.match(output, /server RSS +[\d.]+ → [\d.]+ MB +\+\d+\.\d % \[\+\d+\.\d, \+\d+\.\d\] +REGRESSED/);
    for (const f of r.baseline!.figures) assert.match(output, new RegExp(`^    ${f.name} `, 'm'));
  });

  it('a run compared with itself passes: every change is zero and none is significant', () => {
    const c = compareWithBaseline(run, [run], [first]);
    assert.equal(c.passed, true);
    assert.equal(c.warnings, undefined);
    assert.equal(c.figures.length, 7);
    for (const f of c.figures) {
      assert.equal(f.changePercent, 0, f.name);
      assert.equal(f.significant, false, f.name);
      assert.ok(f.ciLowPercent <= 0 && f.ciHighPercent >= 0, JSON.stringify(f));
    }
  });

  it('a significant change within the tolerance is reported but passes; a smaller tolerance fails it', () => {
    const slightly = structuredClone(run);
    slightly.serverSeries = slightly.serverSeries!.map((p) => ({ ...p, rssMB: p.rssMB * 0.95 }));
    const rss = (tolerance: number) => compareWithBaseline(run, [slightly], ['b.json'], tolerance).figures.find((f) => f.name === 'server RSS')!;
    assert.ok(rss(10).significant && !rss(10).regressed, JSON.stringify(rss(10)));
    assert.ok(rss(2).regressed, JSON.stringify(rss(2)));
  });

  it('with repeats, the baseline is their mean and the noise their spread', () => {
    const repeats = [better(run, 0.97), better(run, 1.03)];
    const c = compareWithBaseline(run, repeats, ['r1.json', 'r2.json']);
    assert.equal(c.file, 'r1.json, r2.json');
    assert.equal(c.warnings, undefined);
    const rss = c.figures.find((f) => f.name === 'server RSS')!;
    // Mean of 0.97 and 1.03 of the run: no change, and an interval as wide as the repeats disagree.
    assert.ok(Math.abs(rss.changePercent) < 0.5, JSON.stringify(rss));
    assert.ok(!rss.significant && rss.ciHighPercent > 3, JSON.stringify(rss));
    assert.equal(c.passed, true);
  });

  it('warns when a run it compares was generator-bound', () => {
    const bound = structuredClone(run);
    bound.generator.bottleneck = true;
    const c = compareWithBaseline(run, [run, bound], ['r1.json', 'r2.json']);
    assert.deepEqual(c.warnings, ['generator-bound: r2.json; deliveries and latency there measure the load generator, not the server']);
  });

  it('refuses, before running, a baseline of another profile and a tolerance without a baseline', async () => {
    // Each is refused while its arguments are read: the three processes need not wait for each other.
    const [other, alone, bad] = await Promise.all([
      runBench(['--profile', 'fanout', '--baseline', first], 30_000).finished,
      runBench(['--profile', 'smoke', '--tolerance', '5%'], 30_000).finished,
      runBench(['--profile', 'smoke', '--baseline', first, '--tolerance', 'lots'], 30_000).finished,
    ]);
    assert.equal(other.code, 2, other.output);
    assert.match(other.output, /--baseline .*first\.json is a "smoke" run and this is a "fanout" run: a baseline must be a run of the same profile/);
    assert.equal(alone.code, 2, alone.output);
    assert.match(alone.output, /--tolerance goes with --baseline FILE/);
    assert.equal(bad.code, 2, bad.output);
    assert.match(bad.output, /--tolerance lots: a percentage such as 10%/);
  });
});
