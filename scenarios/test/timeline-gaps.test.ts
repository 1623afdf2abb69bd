import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveProfile } from '../lib/profile.ts';
import type { RunResult, TimelinePoint } from '../lib/results.ts';
import { PROFILES } from '../profiles/index.ts';
import { readReportModel } from '../runner/html-report.ts';
import { mergeResults } from '../runner/merge-results.ts';
import { peakPerSecond } from '../runner/timeline.ts';
import { normalRun } from './support/report-fixtures.ts';
import { runBench, tempDir } from './support/processes.ts';

// An interval in which no worker reported has unknown rates, not zero ones: the runner records
// null, and every reader (the busiest second, the shard merge, the page) keeps it a gap.

const point = (t: number, deliveries: number | null, p99: number | null): TimelinePoint => ({
  t,
  viewers: 10,
  target: 10,
  sentPerSecond: deliveries === null ? null : 1,
  deliveriesPerSecond: deliveries,
  p50Ms: p99 === null ? null : p99 / 2,
  p99Ms: p99,
  generatorCpuPercent: 5,
});

function shard(index: number, timeline: TimelinePoint[]): RunResult {
  const r = normalRun();
  r.profile = resolveProfile(PROFILES.smoke!);
  r.timeline = timeline;
  r.histograms = { latencyUs: '', handshakeUs: '', tokenUs: '', ackUs: '' };
  r.shard = { index, count: 2, runId: 'gaps', deliveryLog: { sends: [], resolutions: [], closed: [] } };
  return r;
}

describe('timeline gaps', () => {
  it('records an interval in which the only worker did not report (its event loop blocked 2.5 s) as null, not zero, in the JSON and on the page', async (t) => {
    const out = path.join(tempDir(t), 'stalled.json');
    const { finished } = runBench(['--profile', 'smoke', '--workers', '1', '--duration', '7s', '--no-pin', '--out', out], 60_000, {
      CHATSTORM_TEST_STALL_WORKER: '0:2500',
    });
    const { code, output } = await finished;
    assert.ok(code === 0 || code === 1 || code === 3, `the run finished (exit ${code})\n${output}`);
    const r = JSON.parse(readFileSync(out, 'utf8')) as RunResult;
    // The worker blocks from about 5 s to 7.5 s (CHATSTORM_TEST_STALL_WORKER: every 2 × 2.5 s).
    const load = r.timeline.filter((p) => p.t > 0 && p.t <= 7);
    const gaps = load.filter((p) => p.deliveriesPerSecond === null);
    assert.ok(gaps.length > 0, `an interval without a report: ${JSON.stringify(load.map((p) => [p.t, p.deliveriesPerSecond]))}`);
    for (const p of gaps) {
      assert.equal(p.sentPerSecond, null, `t=${p.t}: sends unknown too`);
      assert.equal(p.p99Ms, null, `t=${p.t}: no latency sample`);
      assert.equal(p.p50Ms, null);
    }
    assert.ok(load.some((p) => (p.deliveriesPerSecond ?? 0) > 0), 'and intervals with deliveries');
    const known = r.timeline.flatMap((p) => (p.deliveriesPerSecond === null ? [] : [p.deliveriesPerSecond]));
    assert.equal(r.deliveries.peakPerSecond, Math.max(...known));
    // The page hands uPlot the same nulls.
    const deliveries = readReportModel(readFileSync(out.replace(/\.json$/, '.html'), 'utf8')).charts.find((c) => c.id === 'deliveries')!;
    assert.deepEqual(deliveries.tables[0]![1], r.timeline.map((p) => p.deliveriesPerSecond));
  });

  it('the busiest interval skips intervals with no report instead of counting them as zero', () => {
    assert.equal(peakPerSecond([point(1, null, null), point(2, 5, 1), point(3, null, null)]), 5);
    assert.equal(peakPerSecond([point(1, null, null)]), 0);
  });

  it('merging shards keeps a second one shard did not report as a gap, and takes the worst known p99', () => {
    const a = shard(0, [point(1, 100, 10), point(2, null, null), point(3, 70, 30)]);
    const b = shard(1, [point(1, 50, 20), point(2, 60, 15), point(3, 80, null)]);
    const merged = mergeResults([a, b], ['a.json', 'b.json']);
    assert.deepEqual(
      merged.timeline.map((p) => [p.t, p.deliveriesPerSecond, p.sentPerSecond, p.p99Ms, p.p50Ms]),
      [
        [1, 150, 2, 20, 10],
        [2, null, null, 15, 7.5],
        [3, 150, 2, 30, 15],
      ],
    );
    assert.equal(merged.deliveries.peakPerSecond, 150);
  });
});
