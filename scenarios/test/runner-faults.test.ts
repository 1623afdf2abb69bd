import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RunResult } from '../lib/results.ts';
import { assertReportsFaults, faultLine, SMOKE_FAULTS } from './support/fault-checks.ts';
import { startFaultyProxy } from './support/faulty-proxy.ts';
import { runBench, startServer, tempDir } from './support/processes.ts';

// The Node runner must see faults of its own making: a generator that broke is a failed run with
// its cause, never a passing run or a "saturated generator".

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;


describe('node runner faults', () => {
  const deaths = [
    { how: 'throws an uncaught error', env: '0', cause: 'worker 0 died: test-only crash of worker 0 (CHATSTORM_TEST_CRASH_WORKER)', log: /worker 0 died: Error: test-only crash/ },
    { how: 'exits without a final report', env: '0:exit', cause: 'worker 0 exited with code 3 before its final report', log: /worker 0 exited with code 3/ },
  ];
  for (const death of deaths) {
    it(`fails the run naming the cause when a worker thread ${death.how}, and does not call it a saturated generator`, async (t) => {
      const out = path.join(tempDir(t), 'crash.json');
      const { finished } = runBench(['--profile', 'smoke', '--workers', '2', '--duration', '3s', '--no-pin', '--out', out], 60_000, {
        CHATSTORM_TEST_CRASH_WORKER: death.env,
      });
      const { code, output } = await finished;
      assert.equal(code, 1, `a dead worker fails the run (exit 1, not a setup error)\n${output}`);
      const r = readResult(out);
      assert.equal(r.passed, false);
      const causes = Object.keys(r.errors).filter((k) => k.startsWith('worker'));
      assert.deepEqual(causes, [death.cause], JSON.stringify(r.errors));
      assert.equal(r.errors[death.cause], 1);
      assert.equal(r.generator.workers, 2);
      // Saturation is judged from the generator's own CPU and event-loop samples; the death is not one of them.
      assert.ok(!r.generator.warnings.some((w) => /worker/.test(w)), `warnings: ${JSON.stringify(r.generator.warnings)}`);
      assert.equal(r.generator.bottleneck, r.generator.warnings.length > 0);
      assert.match(output, death.log, 'the cause goes to the log');
      assert.match(output, /result +FAILED/);
    });
  }

  it('calls a run whose thresholds failed while its own event loops stalled generator-bound (exit 3), not a server failure', async (t) => {
    const out = path.join(tempDir(t), 'stalled.json');
    const { finished } = runBench(
      // One room with one chatter (viewer 0, in worker 0): worker 1 holds only audience, and whatever
      // reaches it during a stall is read up to 300 ms late, half of its deliveries.
      ['--profile', 'smoke', '--workers', '2', '--duration', '4s', '--no-pin', '--out', out,
        '--set', 'rooms=1', '--set', 'chattersPerRoom=1', '--set', 'rate=20', '--set', 'thresholds=["loss == 0","p99 < 100ms"]'],
      60_000,
      { CHATSTORM_TEST_STALL_WORKER: '1:300' },
    );
    const { code, output } = await finished;
    assert.equal(code, 3, `a generator-bound run exits 3\n${output}`);
    const r = readResult(out);
    assert.equal(r.verdict, 'generator-bound');
    assert.equal(r.passed, false);
    assert.equal(r.generator.bottleneck, true);
    assert.match(r.generator.warnings.join('\n'), /event loops lagged/);
    assert.deepEqual(Object.keys(r.errors).filter((k) => k.startsWith('worker')), [], 'no worker died');
    assert.match(output, /result +GENERATOR-BOUND/);
  });

  it('reports exactly the deliveries a faulty proxy dropped, duplicated, reordered and delayed and the handshakes it refused, and fails the thresholds', async (t) => {
    const dir = tempDir(t);
    const server = await startServer(path.join(dir, 'data'));
    t.after(() => server.stop());
    const proxy = await startFaultyProxy(server.url.replace(/^http/, 'ws'), SMOKE_FAULTS);
    t.after(() => proxy.close());
    const out = path.join(dir, 'faults.json');
    // The control plane goes straight to chatstorm; only the chat WebSocket passes the proxy.
    const { finished } = runBench(
      ['--profile', 'smoke', '--url', server.url, '--ws-url', proxy.url, '--duration', '4s', '--drain', '2s', '--no-pin', '--out', out],
      90_000,
    );
    const { code, output } = await finished;
    assert.equal(code, 1, `failed thresholds exit 1\n${output}`);
    const r = readResult(out);
    t.diagnostic(faultLine(proxy, r));
    assertReportsFaults(r, proxy, SMOKE_FAULTS, output);
  });
});

describe('node runner faults in counting receive mode', () => {
  // One chatter per room: every faulted frame lands on a plain viewer, i.e. on a counting socket.
  // Drops and duplicates in separate runs: by count, one of each on the same socket cancel out
  // (the net is what counting mode promises; see scenarios/README.md). Everyone joins at once
  // (--ramp-up 0s): a send published while a viewer's upgrade was in flight is one it may or may
  // not get, and if it did not, it hides a duplicate (or a drop) on that socket one-for-one
  // (delivery-ledger.ts evaluateCounted). Joining mid-stream during a ramp made that a matter of
  // timing: CI once reported 2 of 3 injected duplicates.
  const plans = [
    { what: 'dropped', plan: { ...SMOKE_FAULTS, seed: 11, drop: 3, duplicate: 0, swap: 0, delay: 0, refuse: 0, refuseAmong: 0 } },
    { what: 'duplicated', plan: { ...SMOKE_FAULTS, seed: 12, drop: 0, duplicate: 3, swap: 0, delay: 0, refuse: 0, refuseAmong: 0 } },
  ];
  for (const { what, plan } of plans) {
    it(`reports exactly the deliveries a faulty proxy ${what}, by count, while decoding only 1 frame in 4`, async (t) => {
      const dir = tempDir(t);
      const server = await startServer(path.join(dir, 'data'));
      t.after(() => server.stop());
      const proxy = await startFaultyProxy(server.url.replace(/^http/, 'ws'), plan);
      t.after(() => proxy.close());
      const out = path.join(dir, 'faults-count.json');
      const { finished } = runBench(
        [
          '--profile', 'smoke', '--url', server.url, '--ws-url', proxy.url, '--chatters', '1', '--ramp-up', '0s', '--duration', '4s', '--drain', '2s',
          '--transport', 'raw', '--receive', 'count', '--decode-every', '4', '--no-pin', '--out', out,
        ],
        90_000,
      );
      const { code, output } = await finished;
      assert.equal(code, 1, `failed thresholds exit 1\n${output}`);
      const r = readResult(out);
      t.diagnostic(faultLine(proxy, r));
      const i = proxy.injected;
      assert.ok(proxy.complete(), `every planned fault happened: ${JSON.stringify(i)}\n${output}`);
      assert.equal(r.deliveries.missing, i.dropped, 'missing == dropped');
      assert.equal(r.deliveries.duplicated, i.duplicated, 'duplicated == duplicated');
      assert.equal(r.deliveries.delivered, r.deliveries.expected - i.dropped);
      assert.equal(r.messages.acked, r.messages.sent, 'the proxy never touched a sender’s own copy');
      const receive = r.deliveries.receive!;
      assert.equal(receive.mode, 'count');
      assert.equal(receive.decodeEvery, 4);
      // Every delivery went to a plain viewer: all counted from the framing, at most a quarter decoded.
      assert.equal(receive.framesCounted, r.deliveries.frames, 'every delivered frame counted from the framing');
      assert.ok(receive.framesDecoded > 0 && receive.framesDecoded <= receive.framesCounted / 4, `decoded ${receive.framesDecoded} of ${receive.framesCounted}`);
      assert.match(output, /receive +counting: .* decoded \(1 in 4/);
    });
  }

  it('refuses --receive count without the raw transport, naming why', async () => {
    const { finished } = runBench(['--profile', 'smoke', '--receive', 'count', '--no-pin'], 30_000);
    const { code, output } = await finished;
    assert.equal(code, 2, output);
    assert.match(output, /--receive count reads the WebSocket framing itself: it needs --transport raw/);
  });

  it('refuses --receive count on one shard of several, naming why', async () => {
    const { finished } = runBench(
      ['--profile', 'smoke', '--transport', 'raw', '--receive', 'count', '--shard', '1/2', '--run-id', 'r1', '--url', 'http://127.0.0.1:9', '--no-pin'],
      30_000,
    );
    const { code, output } = await finished;
    assert.equal(code, 2, output);
    assert.match(output, /--receive count judges loss by count against every sender’s log: it cannot run as one --shard of several/);
  });
});
