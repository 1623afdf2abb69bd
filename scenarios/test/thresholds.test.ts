import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { emptyPercentiles, type RunResult } from '../lib/results.ts';
import { evaluateThresholds, generatorCanFail, parseThreshold } from '../lib/thresholds.ts';

function result(patch: (r: RunResult) => void = () => {}): RunResult {
  const r = {
    viewers: { peak: 100, target: 100, connects: { ok: 98, refused: 1, error: 1 }, disconnects: {} },
    handshakeMs: { ...emptyPercentiles(), count: 100, p99: 80 },
    tokenMs: emptyPercentiles(),
    ackLatencyMs: emptyPercentiles(),
    messages: { sent: 10_000, acked: 9_990, rejected: 10, unacked: 0, perSecond: 100 },
    deliveries: {
      expected: 1_000_000,
      delivered: 999_990,
      missing: 10,
      duplicated: 0,
      outOfOrder: 3,
      frames: 1_000_000,
      perSecond: 20_000,
      peakPerSecond: 30_000,
      lossRatio: 0.00001,
      accounting: 'exact',
    },
    latencyMs: { count: 1_000_000, p50: 4, p90: 12, p99: 42, p999: 90, max: 300, mean: 6 },
    errors: { '429': 10 },
  } as unknown as RunResult;
  patch(r);
  return r;
}

const verdict = (expression: string, r = result()) => evaluateThresholds([expression], r)[0]!;

describe('thresholds', () => {
  it('judges latency percentiles in ms or s', () => {
    assert.equal(verdict('p99 < 50ms').pass, true);
    assert.equal(verdict('p99 < 40ms').pass, false);
    assert.equal(verdict('p99 < 40ms').observed, 42);
    assert.equal(verdict('p999 <= 0.09s').pass, true);
    assert.equal(verdict('max < 1s').pass, true);
    assert.equal(verdict('handshake.p99 < 100ms').pass, true);
  });

  it('reads k6 spellings', () => {
    assert.equal(verdict('p(99)<50').pass, true);
    assert.equal(verdict('p(99.9) < 100').pass, true);
    assert.equal(verdict('avg < 10').pass, true);
    assert.equal(verdict('med<5').pass, true);
  });

  it('judges loss as a count without a unit and as a share of expected deliveries with %', () => {
    assert.equal(verdict('loss == 0').pass, false);
    assert.equal(verdict('loss == 0').observed, 10);
    assert.equal(verdict('loss < 0.01%').pass, true);
    assert.equal(verdict('loss < 0.0001%').pass, false);
  });

  it('judges errors against messages sent', () => {
    // 10 ERROR frames for 10,000 sends: 0.1 %.
    assert.equal(verdict('errors < 0.1%').pass, false);
    assert.equal(verdict('errors <= 0.1%').pass, true);
    assert.equal(verdict('errors == 10').pass, true);
  });

  it('judges connection failures, acks, duplicates and order', () => {
    assert.equal(verdict('connectErrors < 5%').pass, true);
    assert.equal(verdict('connectErrors == 0').pass, false);
    assert.equal(verdict('acked > 99.8%').pass, true);
    assert.equal(verdict('duplicates == 0').pass, true);
    assert.equal(verdict('outOfOrder == 0').pass, false);
    assert.equal(verdict('deliveriesPerSecond >= 20000').pass, true);
  });

  it('fails a threshold it has no data for instead of passing it', () => {
    const v = verdict('token.p99 < 100ms');
    assert.equal(v.pass, false);
    assert.equal(v.observed, null);
  });

  it('treats a ratio over nothing as zero only when nothing went wrong', () => {
    const idle = result((r) => {
      r.deliveries.expected = 0;
      r.deliveries.missing = 0;
    });
    assert.equal(verdict('loss < 1%', idle).pass, true);
  });

  it('knows which thresholds a saturated generator can fail on its own: latencies and rates, not exact counts', () => {
    for (const e of ['p99 < 50ms', 'handshake.p99 < 1s', 'p(99)<50', 'deliveriesPerSecond > 1000', 'viewers >= 10']) assert.equal(generatorCanFail(e), true, e);
    for (const e of ['loss == 0', 'duplicates == 0', 'outOfOrder == 0', 'errors < 0.1%', 'connectErrors == 0', 'acked == 100%']) assert.equal(generatorCanFail(e), false, e);
  });

  it('refuses expressions it cannot read, with the reason', () => {
    assert.throws(() => parseThreshold('p99 fast'), /cannot read threshold/);
    assert.throws(() => parseThreshold('latency < 5ms'), /unknown metric "latency"/);
    assert.throws(() => parseThreshold('p99 < 5%'), /ms or s/);
    assert.throws(() => parseThreshold('loss < 5ms'), /count or a %/);
  });
});
