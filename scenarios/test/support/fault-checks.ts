import assert from 'node:assert/strict';
import type { RunResult } from '../../lib/results.ts';
import type { FaultPlan, FaultyProxy } from './faulty-proxy.ts';

// One fault plan for both engines, and what a run through it must report.

/** Small enough to be spent within the first seconds of a smoke run (see faulty-proxy.ts). */
export const SMOKE_FAULTS: FaultPlan = { seed: 7, drop: 3, duplicate: 2, swap: 2, delay: 2, delayMs: 400, refuse: 2, refuseAmong: 8, chance: 0.15 };

/** A line for the test log: injected against reported. */
export function faultLine(proxy: FaultyProxy, r: RunResult): string {
  const i = proxy.injected;
  return (
    `injected dropped ${i.dropped} duplicated ${i.duplicated} swapped ${i.swapped} delayed ${i.delayed} refused ${i.refused[401] + i.refused[503]} ` +
    `(401: ${i.refused[401]}, 503: ${i.refused[503]}; ${i.handshakes} handshakes, ${i.messages} MESSAGE frames, ${i.connectionsFaulted} connections faulted) · ` +
    `${r.engine} reported missing ${r.deliveries.missing} duplicated ${r.deliveries.duplicated} outOfOrder ${r.deliveries.outOfOrder} ` +
    `refused ${r.viewers.connects.refused} connect errors ${r.viewers.connects.error} latency max ${r.latencyMs.max} ms ` +
    `(sent ${r.messages.sent}, expected ${r.deliveries.expected}, ${r.deliveries.accounting} accounting)`
  );
}

/** Exact equality of every count, the delay in the latency, and the thresholds that must fail. */
export function assertReportsFaults(r: RunResult, proxy: FaultyProxy, plan: FaultPlan, output: string): void {
  const i = proxy.injected;
  assert.ok(proxy.complete(), `every planned fault happened: ${JSON.stringify(i)}\n${output}`);
  assert.equal(r.deliveries.missing, i.dropped, 'missing == dropped');
  assert.equal(r.deliveries.duplicated, i.duplicated, 'duplicated == duplicated');
  assert.equal(r.deliveries.outOfOrder, i.swapped, 'out of order == swapped pairs');
  assert.equal(r.viewers.connects.refused, i.refused[401] + i.refused[503], 'refused connects == refused handshakes');
  assert.equal(r.viewers.connects.error, 0);
  assert.equal(r.deliveries.delivered, r.deliveries.expected - i.dropped);
  assert.ok(r.latencyMs.max >= plan.delayMs, `a delayed delivery shows in the latency (max ${r.latencyMs.max} ms)`);
  assert.equal(r.messages.acked, r.messages.sent, 'the proxy never touched a sender’s own copy');
  // Under k6, each k6 threshold that failed is listed too ("k6 <metric>: <expression>").
  const own = r.thresholds.filter((v) => !v.expression.startsWith('k6 '));
  const k6Failed = r.thresholds.filter((v) => v.expression.startsWith('k6 ')).map((v) => v.expression.split(':')[0]);
  if (r.engine === 'k6') {
    assert.deepEqual(k6Failed.sort(), ['k6 connect_failures', 'k6 deliveries_duplicated', 'k6 deliveries_missing', 'k6 deliveries_out_of_order']);
  } else {
    assert.deepEqual(k6Failed, []);
  }
  const verdict = Object.fromEntries(own.map((v) => [v.expression, v.pass]));
  assert.deepEqual(verdict, {
    'loss == 0': false,
    'duplicates == 0': false,
    'outOfOrder == 0': false,
    'errors == 0': true,
    'connectErrors == 0': false,
    'acked == 100%': true,
  });
  assert.equal(r.passed, false);
}
