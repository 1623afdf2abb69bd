import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildK6 } from '../k6/build.ts';
import type { RunResult } from '../lib/results.ts';
import { startServer, tempDir } from './support/processes.ts';
import { requireK6, runK6, type K6Binary, type K6Run } from './support/real-k6.ts';

// k6-operator runs one k6 per pod, each with --execution-segment and nothing else to tell them
// apart. Two real k6 processes with the two halves of one segment sequence stand for two pods.

function runK6Segment(k6: K6Binary, script: string, segment: string, env: Record<string, string>, cwd: string): Promise<K6Run> {
  return runK6(k6, { script, env, cwd, timeoutMs: 120_000, args: ['--execution-segment', segment, '--execution-segment-sequence', '0,1/2,1'] });
}

// k6 v0.48 here has only k6/experimental/websockets: the legacy bundles.
const VARIANT = 'k6-legacy';

describe('k6 execution segments', () => {
  it(
    'two k6 instances on the two halves of a segment sequence share the rooms, hold every viewer exactly once between them, and lose nothing',
    async (t) => {
      const k6 = requireK6(t);
      if (!k6) return;
      const dir = tempDir(t);
      await buildK6(path.join(dir, 'dist'));
      const script = path.join(dir, 'dist', VARIANT, 'smoke.js');
      const server = await startServer(path.join(dir, 'data'));
      t.after(() => server.stop());
      const runId = `seg${Date.now().toString(36)}`;
      // Two viewers per VU: six VUs, three per instance.
      const env = (i: number) => ({ CHATSTORM_URL: server.url, CHATSTORM_RUN_ID: runId, VIEWERS_PER_VU: '2', CHATSTORM_OUT: path.join(dir, `pod-${i}.json`) });
      const [a, b] = await Promise.all([runK6Segment(k6, script, '0:1/2', env(0), dir), runK6Segment(k6, script, '1/2:1', env(1), dir)]);
      assert.equal(a.code, 0, a.output);
      assert.equal(b.code, 0, b.output);
      const pods = [0, 1].map((i) => JSON.parse(readFileSync(path.join(dir, `pod-${i}.json`), 'utf8')) as RunResult);
      assert.equal(pods[0]!.viewers.connects.ok + pods[1]!.viewers.connects.ok, 12, 'every viewer connected once, on one pod');
      assert.ok(pods.every((p) => p.viewers.connects.ok > 0), 'both pods held viewers');
      const listed = (await (await fetch(`${server.url}/ListRooms`, { method: 'POST', body: '{}' })).json()) as { rooms: { name: string }[] };
      assert.deepEqual(listed.rooms.map((r) => r.name).filter((n) => n.includes(runId)).sort(), [`chatstorm-smoke-${runId}-0`, `chatstorm-smoke-${runId}-1`], 'one set of rooms for both pods, left in place for the run’s other instances');
      // Each pod's receivers got messages from both pods' chatters.
      assert.ok(pods.every((p) => p.deliveries.delivered > 0 && p.deliveries.missing === 0), JSON.stringify(pods.map((p) => p.deliveries)));
    },
  );

  it('an execution segment without CHATSTORM_RUN_ID stops in setup and says why', async (t) => {
    const k6 = requireK6(t);
    if (!k6) return;
    const dir = tempDir(t);
    await buildK6(path.join(dir, 'dist'));
    const script = path.join(dir, 'dist', VARIANT, 'smoke.js');
    const run = await runK6Segment(k6, script, '1/2:1', { CHATSTORM_URL: 'http://127.0.0.1:9' }, dir);
    assert.notEqual(run.code, 0);
    assert.match(run.output, /execution segment 1\/2:1: set CHATSTORM_RUN_ID/);
  });
});
