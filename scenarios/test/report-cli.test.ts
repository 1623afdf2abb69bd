import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveProfile } from '../lib/profile.ts';
import type { RunResult, TimelinePoint } from '../lib/results.ts';
import { PROFILES } from '../profiles/index.ts';
import { readReportModel } from '../runner/html-report.ts';
import { mergeResults } from '../runner/merge-results.ts';
import { peakPerSecond } from '../runner/timeline.ts';
import { capacityRun, normalRun } from './support/report-fixtures.ts';
import { REPO_ROOT, tempDir } from './support/processes.ts';

// `npm run report` on what it is given, and the timeline's gaps (null: no report that interval)
// through every reader: a gap must never turn into a zero.

function report(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scenarios/runner/report-cli.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
}

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

describe('npm run report', () => {
  it('refuses a file that is not a results JSON, naming the file and what is wrong, and writes nothing', (t) => {
    const dir = tempDir(t);
    const profile = path.join(dir, 'profile.json');
    writeFileSync(profile, JSON.stringify(resolveProfile(PROFILES.smoke!)));
    const notJson = path.join(dir, 'truncated.json');
    writeFileSync(notJson, JSON.stringify(normalRun()).slice(0, 200));
    const good = path.join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(normalRun()));

    const a = report([good, profile]);
    assert.equal(a.status, 2, a.stderr);
    assert.match(a.stderr, new RegExp(`report: ${profile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a chatstorm results JSON .*schemaVersion: `));
    assert.equal(existsSync(path.join(dir, 'good.compare.html')), false, 'no page for a refused set');

    const b = report([notJson]);
    assert.equal(b.status, 2);
    assert.match(b.stderr, /truncated\.json: not a results JSON: not JSON at all/);
    const c = report([path.join(dir, 'absent.json')]);
    assert.equal(c.status, 2);
    assert.match(c.stderr, /absent\.json: cannot be read \(ENOENT\)/);
    const d = report([]);
    assert.equal(d.status, 2);
    assert.match(d.stderr, /no results file given/);
  });

  it('renders one run beside its JSON by default, with the results file’s own figures', (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'cap.json');
    writeFileSync(file, JSON.stringify(capacityRun()));
    const run = report([file]);
    assert.equal(run.status, 0, run.stderr);
    const page = readFileSync(path.join(dir, 'cap.html'), 'utf8');
    assert.deepEqual(readReportModel(page).runs, ['capacity']);
    assert.match(page, /<h1 id="headline">chatstorm capacity: <span class="warn">GENERATOR-BOUND<\/span>/);
  });
});

describe('timeline gaps', () => {
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
