import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveProfile } from '../lib/profile.ts';
import { Plan } from '../lib/schedule.ts';
import { RunAggregate } from '../runner/aggregate.ts';
import { capacityVerdict, StepWatch, stepResults } from '../runner/capacity.ts';
import { newHistogram } from '../runner/latency-recorder.ts';
import { parseServerCounters, sumMetric } from '../runner/server-counters.ts';

// Judging a stepped run (capacity.ts) on step tallies filled by hand: 4 steps of 10 s, p99 ≤ 100 ms.

const START = 1_000_000;

function stepped(stopOnBreak = true) {
  const plan = new Plan(
    resolveProfile({ name: 'capacity', description: 'test', duration: '40s', steps: 4, viewers: 400, capacity: { p99: '100ms', loss: 0, stopOnBreak } }),
  );
  return { plan, aggregate: new RunAggregate(plan, START) };
}

/** A step whose deliveries all took `latencyMs`, `frames` of them over its 10 s. */
function fill(aggregate: RunAggregate, step: number, latencyMs: number, frames: number, viewers: number): void {
  const latency = newHistogram();
  latency.recordValueWithCount(latencyMs * 1000, frames);
  aggregate.steps[step] = { frames, latency, peakViewers: viewers, startMs: START + step * 10_000, endMs: START + (step + 1) * 10_000 };
}

describe('capacity step judging', () => {
  it('stops at the first step whose p99 is over the limit, once the next step begins, and keeps later reports with the broken step', () => {
    const { plan, aggregate } = stepped();
    const watch = new StepWatch(plan);
    fill(aggregate, 0, 20, 1000, 100);
    assert.equal(watch.check(5_000, aggregate), undefined);
    assert.equal(watch.check(10_500, aggregate), undefined, 'step 1 is within the limit');
    fill(aggregate, 1, 300, 2000, 200);
    fill(aggregate, 2, 400, 500, 300);
    assert.match(watch.check(20_500, aggregate) ?? '', /step 2 broke \(p99 300\.\d ms > 100ms\): stopping/);
    assert.equal(aggregate.steps.length, 2, 'what came in after the break stays with step 2');
    assert.equal(aggregate.steps[1]!.frames, 2500);
    assert.equal(watch.check(30_500, aggregate), undefined, 'judged once');
  });

  it('does not stop when the profile asks to run every step', () => {
    const { plan, aggregate } = stepped(false);
    const watch = new StepWatch(plan);
    fill(aggregate, 0, 300, 1000, 100);
    watch.check(5_000, aggregate);
    assert.equal(watch.check(10_500, aggregate), undefined);
  });

  it('gives the verdict with the last good step, the break, the knee and what bound it', () => {
    const { plan, aggregate } = stepped();
    fill(aggregate, 0, 10, 10_000, 100);
    fill(aggregate, 1, 11, 20_000, 200);
    fill(aggregate, 2, 14, 30_000, 300);
    fill(aggregate, 3, 500, 40_000, 400);
    const steps = stepResults(plan, aggregate);
    assert.deepEqual(steps.map((s) => s.broken), [false, false, false, true]);
    const verdict = capacityVerdict(plan, steps, false);
    assert.equal(verdict.lastGoodStep, 3);
    assert.equal(verdict.breakingStep, 4);
    assert.equal(verdict.boundBy, 'server');
    assert.equal(verdict.knee?.step, 3);
    const saturated = capacityVerdict(plan, steps, true);
    assert.equal(saturated.boundBy, 'generator');
    assert.match(saturated.reason, /the generator’s limit/);
    assert.equal(capacityVerdict(plan, steps.slice(0, 3), false).boundBy, 'none');
  });
});

describe('server counters', () => {
  const text = [
    '# HELP process_cpu_seconds_total x',
    'process_cpu_seconds_total 12.5',
    'process_resident_memory_bytes 1048576',
    'chatstorm_fanout_deliveries_total{type="MESSAGE"} 900',
    'chatstorm_fanout_deliveries_total{type="EVENT"} 100',
    'chatstorm_connections 40',
    'chatstorm_connections_opened_total 55',
  ].join('\n');

  it('sums every labelled series of a metric and tells a metric from one whose name it begins', () => {
    assert.equal(sumMetric(text, 'chatstorm_fanout_deliveries_total'), 1000);
    assert.equal(sumMetric(text, 'chatstorm_connections'), 40);
    assert.equal(sumMetric(text, 'chatstorm_tokens_created_total'), null);
  });

  it('reads nothing from a target without process CPU, and null for what chatstorm alone exports', () => {
    assert.equal(parseServerCounters('up 1', 0), undefined);
    const c = parseServerCounters(text, 5);
    assert.deepEqual(c, { at: 5, cpuSeconds: 12.5, rssBytes: 1048576, deliveries: 1000, deliveredBytes: null, handshakes: null, tokensCreated: null, connections: 40 });
  });
});
