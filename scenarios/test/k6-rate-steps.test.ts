import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildK6 } from '../k6/build.ts';
import { k6Options } from '../k6/options.ts';
import { resolveProfile } from '../lib/profile.ts';
import type { RunResult } from '../lib/results.ts';
import PROFILE from '../profiles/capacity.ts';
import { startServer, tempDir } from './support/processes.ts';
import { requireK6, runK6 } from './support/real-k6.ts';

// The k6 scripts drive the same Swarm as the Node runner, so `stepBy: 'rate'` works there too:
// each VU's chatters follow Plan.rateAt on the VU's own ticker (50 ms under k6, hence several sends
// per tick at the top rate). k6 keeps one per-vu-iterations scenario; the rate is not k6's to ramp.

// A silent 1 s join, then 2 chatters, 4 steps of 1 s, top rate 40 msg/s each: 2 × (10 + 20 + 30 + 40) = 200 messages.
const SET = 'stepBy=rate;viewers=6;chattersPerRoom=2;rate=40;steps=4;rampUp=1s;duration=5s;drain=1s';
const PLANNED = 200;

describe('k6 with capacity steps by message rate', () => {
  it('derives the same single scenario, long enough for the steps', () => {
    const o = k6Options(resolveProfile(PROFILE, { stepBy: 'rate', viewers: 6, chattersPerRoom: 2, rate: 40, steps: 4, rampUp: '1s', duration: '5s', drain: '1s' }));
    assert.equal(o.scenarios.viewers!.executor, 'per-vu-iterations');
    assert.equal(o.scenarios.viewers!.maxDuration, '66s');
  });

  it('a real k6 run sends what the rate steps plan (not the top rate throughout, not the first step’s) and loses nothing', async (t) => {
    const k6 = requireK6(t);
    if (!k6) return;
    const dir = tempDir(t);
    await buildK6(path.join(dir, 'dist'));
    const server = await startServer(path.join(dir, 'data'));
    t.after(() => server.stop());
    const out = path.join(dir, 'capacity-k6.json');
    const run = await runK6(k6, {
      script: path.join(dir, 'dist', 'k6-legacy', 'capacity.js'),
      env: { CHATSTORM_URL: server.url, CHATSTORM_OUT: out, CHATSTORM_SET: SET, CHATSTORM_LAG_BOUND: '1s', VIEWERS_PER_VU: '3' },
      cwd: dir,
      timeoutMs: 90_000,
    });
    assert.equal(run.code, 0, run.output);
    const r = JSON.parse(readFileSync(out, 'utf8')) as RunResult;
    assert.equal(r.engine, 'k6');
    assert.equal(r.profile.stepBy, 'rate');
    t.diagnostic(`k6 sent ${r.messages.sent} messages (planned ${PLANNED}; constant top rate would be 320, first step only 80)`);
    // Constant 40 msg/s would send 320; staying at step 1's 10 msg/s, 80; one send per 50 ms tick, 140.
    assert.ok(r.messages.sent >= 0.75 * PLANNED && r.messages.sent <= 1.25 * PLANNED, `sent ${r.messages.sent}, planned ${PLANNED}`);
    assert.equal(r.viewers.connects.ok, 6, 'the whole audience joined once');
    assert.equal(r.deliveries.missing, 0);
    assert.equal(r.deliveries.duplicated, 0);
    assert.equal(r.deliveries.delivered, r.deliveries.expected);
  });
});
