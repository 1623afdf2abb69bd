import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LagProbe } from '../lib/lag-probe.ts';

// The lag probe on a scripted clock: each step says how late the timer fires and how many frames
// ran before it.

function scripted(steps: { lateMs: number; framesAfterDue?: number }[], boundMs = 100) {
  let now = 1_000;
  let pending: (() => void) | undefined;
  const lags: number[] = [];
  const backlogs: number[] = [];
  const probe = new LagProbe({
    clock: { now: () => now },
    timer: { after: (_ms, fn) => (pending = fn), cancel: () => (pending = undefined) },
    sink: { lag: (ms) => lags.push(ms), backlog: (n) => backlogs.push(n) },
    periodMs: 100,
    boundMs,
    fromMs: 0,
    toMs: Number.POSITIVE_INFINITY,
  });
  probe.start();
  for (const step of steps) {
    now += 100; // due
    for (let k = 0; k < (step.framesAfterDue ?? 0); k++) probe.frame();
    now += step.lateMs;
    pending!();
  }
  return { probe, lags, backlogs };
}

describe('lag probe', () => {
  it('records how late the timer fired and the frames handled after it was due', () => {
    const { lags, backlogs, probe } = scripted([{ lateMs: 0 }, { lateMs: 30, framesAfterDue: 7 }, { lateMs: 2 }]);
    assert.deepEqual(lags, [0, 30, 2]);
    assert.deepEqual(backlogs, [0, 7, 0]);
    assert.equal(probe.bound, false);
  });

  it('a stall of L ms stands for the probes it swallowed, late by L, L − period, … (no coordinated omission)', () => {
    const { lags, probe } = scripted([{ lateMs: 450 }]);
    assert.deepEqual(lags, [450, 350, 250, 150, 50]);
    assert.equal(probe.samples, 5);
    assert.equal(probe.overBound, 4);
  });

  it('is generator-bound when more than 1 % of probes (and at least 3) are over the bound, not on one stall', () => {
    const quiet = Array.from({ length: 400 }, () => ({ lateMs: 5 }));
    assert.equal(scripted([...quiet, { lateMs: 250 }]).probe.bound, false, 'one 250 ms stall in 40 s: two probes over, not bound');
    assert.equal(scripted([...quiet, { lateMs: 250 }, { lateMs: 250 }, { lateMs: 250 }]).probe.bound, true);
    assert.equal(scripted([{ lateMs: 5 }, { lateMs: 120 }, { lateMs: 5 }, { lateMs: 120 }, { lateMs: 120 }]).probe.bound, true);
  });
});
