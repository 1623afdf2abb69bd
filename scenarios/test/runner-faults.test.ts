import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RunResult } from '../lib/results.ts';
import { startFaultyProxy, type FaultPlan } from './support/faulty-proxy.ts';
import { runBench, startServer, tempDir } from './support/processes.ts';

// The Node runner must see faults of its own making: a generator that broke is a failed run with
// its cause, never a passing run or a "saturated generator".

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;

export const FAULTS: FaultPlan = { seed: 7, drop: 3, duplicate: 2, swap: 2, delay: 2, delayMs: 400, refuse: 2, refuseAmong: 8, chance: 0.15 };

describe('node runner faults', () => {
  it('fails the run naming the cause when a worker thread dies, and does not call it a saturated generator', async (t) => {
    const out = path.join(tempDir(t), 'crash.json');
    const { finished } = runBench(['--profile', 'smoke', '--workers', '2', '--duration', '3s', '--no-pin', '--out', out], 60_000, {
      CHATSTORM_TEST_CRASH_WORKER: '0',
    });
    const { code, output } = await finished;
    assert.equal(code, 1, `a dead worker fails the run (exit 1, not a setup error)\n${output}`);
    const r = readResult(out);
    assert.equal(r.passed, false);
    const causes = Object.keys(r.errors).filter((k) => k.startsWith('worker 0 died:'));
    assert.deepEqual(causes, ['worker 0 died: test-only crash of worker 0 (CHATSTORM_TEST_CRASH_WORKER)'], JSON.stringify(r.errors));
    assert.equal(r.generator.workers, 2);
    // Saturation is judged from the generator's own CPU and event-loop samples; the crash is not one of them.
    assert.ok(!r.generator.warnings.some((w) => /worker/.test(w)), `warnings: ${JSON.stringify(r.generator.warnings)}`);
    assert.equal(r.generator.bottleneck, r.generator.warnings.length > 0);
    assert.match(output, /worker 0 died: Error: test-only crash/, 'the stack goes to the log');
    assert.match(output, /result +FAILED/);
  });

  it('reports exactly the deliveries a faulty proxy dropped, duplicated, reordered and delayed and the handshakes it refused, and fails the thresholds', async (t) => {
    const dir = tempDir(t);
    const server = await startServer(path.join(dir, 'data'));
    t.after(() => server.stop());
    const proxy = await startFaultyProxy(server.url.replace(/^http/, 'ws'), FAULTS);
    t.after(() => proxy.close());
    const out = path.join(dir, 'faults.json');
    // The control plane goes straight to chatstorm; only the chat WebSocket passes the proxy.
    const { finished } = runBench(
      ['--profile', 'smoke', '--url', server.url, '--ws-url', proxy.url, '--duration', '6s', '--drain', '3s', '--no-pin', '--out', out],
      90_000,
    );
    const { code, output } = await finished;
    const injected = proxy.injected;
    t.diagnostic(`injected ${JSON.stringify(injected)}`);
    assert.ok(proxy.complete(), `every planned fault happened: ${JSON.stringify(injected)}\n${output}`);
    assert.equal(code, 1, `failed thresholds exit 1\n${output}`);
    const r = readResult(out);
    t.diagnostic(
      `reported missing ${r.deliveries.missing} duplicated ${r.deliveries.duplicated} outOfOrder ${r.deliveries.outOfOrder} ` +
        `refused ${r.viewers.connects.refused} error ${r.viewers.connects.error} latency max ${r.latencyMs.max} ms ` +
        `(sent ${r.messages.sent}, expected ${r.deliveries.expected}, frames ${r.deliveries.frames})`,
    );
    assert.equal(r.deliveries.missing, injected.dropped, 'missing == dropped');
    assert.equal(r.deliveries.duplicated, injected.duplicated, 'duplicated == duplicated');
    assert.equal(r.deliveries.outOfOrder, injected.swapped, 'out of order == swapped pairs');
    assert.equal(r.viewers.connects.refused, injected.refused[401] + injected.refused[503], 'refused connects == refused handshakes');
    assert.equal(r.viewers.connects.error, 0);
    assert.equal(r.deliveries.delivered, r.deliveries.expected - injected.dropped);
    assert.ok(r.latencyMs.max >= FAULTS.delayMs, `a delayed delivery shows in the latency (max ${r.latencyMs.max} ms)`);
    assert.equal(r.messages.acked, r.messages.sent, 'the proxy never touched a sender’s own copy');
    const verdict = Object.fromEntries(r.thresholds.map((v) => [v.expression, v.pass]));
    assert.deepEqual(verdict, {
      'loss == 0': false,
      'duplicates == 0': false,
      'outOfOrder == 0': false,
      'errors == 0': true,
      'connectErrors == 0': false,
      'acked == 100%': true,
    });
  });
});
