import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildK6 } from '../k6/build.ts';
import { assertReportsFaults, faultLine, SMOKE_FAULTS } from './support/fault-checks.ts';
import { startFaultyProxy } from './support/faulty-proxy.ts';
import { startServer, tempDir } from './support/processes.ts';
import { readResult, requireK6, runK6 } from './support/real-k6.ts';

// The k6 bundle under a real k6 must see the same faults as the Node runner. k6 VUs share no
// memory, so loss is judged per connection from sequence gaps: the proxy only drops frames in
// the middle of a sender's stream on a connection (after 3 of its frames, early in the run, more
// following), which is exactly what gap accounting can see. A loss of a connection's first or last
// message from a sender is invisible to k6 (the Node runner's ledger counts it); this test does not
// inject one.

const THRESHOLDS_FAILED = 99; // k6's exit code when a threshold fails

describe('k6 faults', () => {
  it(
    'a real k6 running the smoke bundle reports exactly the deliveries a faulty proxy dropped, duplicated, reordered and delayed and the handshakes it refused, and exits with failed thresholds',
    async (t) => {
      const k6 = requireK6(t);
      if (!k6) return;
      const dir = tempDir(t);
      await buildK6(path.join(dir, 'dist'));
      // k6 v0.48 here has only k6/experimental/websockets: the legacy bundle.
      const variant = 'k6-legacy';
      const server = await startServer(path.join(dir, 'data'));
      t.after(() => server.stop());
      const proxy = await startFaultyProxy(server.url.replace(/^http/, 'ws'), SMOKE_FAULTS);
      t.after(() => proxy.close());
      const out = path.join(dir, 'k6-faults.json');
      // The control plane goes straight to chatstorm; only the chat WebSocket passes the proxy.
      const run = await runK6(k6, {
        script: path.join(dir, 'dist', variant, 'smoke.js'),
        env: { CHATSTORM_URL: server.url, CHATSTORM_WS_URL: proxy.url, CHATSTORM_SET: 'duration=4s;drain=2s', CHATSTORM_OUT: out },
        cwd: dir,
        timeoutMs: 120_000,
      });
      const { code, output } = run;
      assert.equal(code, THRESHOLDS_FAILED, `k6 exits with failed thresholds\n${output}`);
      assert.match(output, /thresholds on metrics .*deliveries_missing.* have been crossed/, 'k6 itself judged the thresholds');
      const r = readResult(out, run);
      t.diagnostic(`${k6.path} (${k6.version}, ${variant}): ${faultLine(proxy, r)}`);
      assert.equal(r.engine, 'k6');
      assert.equal(r.deliveries.accounting, 'gaps');
      assertReportsFaults(r, proxy, SMOKE_FAULTS, output);
    },
  );
});
