import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { buildK6 } from '../k6/build.ts';
import { checkK6, exportsOf, importsOf } from '../k6/check.ts';
import { k6Options, k6Thresholds } from '../k6/options.ts';
import { resolveProfile } from '../lib/profile.ts';
import type { RunResult } from '../lib/results.ts';
import { PROFILES } from '../profiles/index.ts';
import { judge, runK6Bundle } from './support/k6-emulator/run-bundle.ts';
import { startServer, tempDir } from './support/processes.ts';

// Types against @types/k6, bundle imports, the options derived from each profile, and the modern
// bundles (k6/websockets, k6/timers: k6 ≥ v0.52, which no binary here has) run by an emulation of
// k6's VU model and module APIs against a real chatstorm server. The legacy bundles run under a
// real k6 v0.48 in real-k6.test.ts.

describe('k6 scripts', () => {
  it('type-check against @types/k6 and bundle into scripts that import k6 modules only', async (t) => {
    const { files, problems } = await checkK6(tempDir(t));
    assert.deepEqual(problems, []);
    assert.equal(files.length, 16);
  });

  it('recognizes what a bundle imports and exports', () => {
    const source = 'import { a } from "k6/http";\nimport "x";\nexport { b as default, options };\nconst y = require("fs");';
    assert.deepEqual(importsOf(source), ['fs', 'k6/http', 'x']);
    assert.deepEqual(exportsOf(source), ['default', 'options']);
  });

  it('derive k6 options from the profile: VUs holding many sockets each, one iteration, thresholds in k6 syntax', () => {
    const fanout = resolveProfile(PROFILES.fanout!);
    const options = k6Options(fanout, 500);
    assert.deepEqual(options.scenarios.viewers, {
      executor: 'per-vu-iterations',
      vus: 10,
      iterations: 1,
      maxDuration: '118s',
      gracefulStop: '30s',
      tags: { profile: 'fanout' },
    });
    assert.deepEqual(options.thresholds.connect_refused, [{ threshold: 'rate<0.2', abortOnFail: true, delayAbortEval: '5s' }]);
    assert.deepEqual(options.thresholds.delivery_latency, ['p(99)<250']);
    assert.deepEqual(options.thresholds.deliveries_missing, ['count==0']);
    assert.deepEqual(options.thresholds.send_errors, ['rate<0.001']);
    assert.deepEqual(k6Thresholds(['loss < 0.1%', 'p999 < 2s', 'acked == 100%']), {
      thresholds: { delivery_latency: ['p(99.9)<2000'], message_acked: ['rate==1'] },
      summaryOnly: ['loss < 0.1%'],
    });
    for (const input of Object.values(PROFILES)) {
      for (const [key, expressions] of Object.entries(k6Options(resolveProfile(input)).thresholds)) {
        for (const entry of expressions) {
          const expression = typeof entry === 'string' ? entry : entry.threshold;
          // Every expression parses as k6's "aggregation operator value" for its metric's type.
          const sample = { count: 0, rate: 0, avg: 0, min: 0, med: 0, max: 0, 'p(90)': 0, 'p(99)': 0, 'p(99.9)': 0, value: 0 };
          assert.doesNotThrow(() => judge(expression, sample), `${input.name}: ${key}: ${expression}`);
        }
      }
    }
  });

  for (const variant of ['k6'] as const) {
    it(`${variant}: the built smoke bundle runs VU by VU against a real chatstorm and its handleSummary writes a passing result`, async (t) => {
      const dir = tempDir(t);
      // As in the repository (package.json "type": "module"), the bundles load as ES modules.
      mkdirSync(path.join(dir, 'dist'));
      writeFileSync(path.join(dir, 'dist', 'package.json'), '{"type":"module"}\n');
      const files = await buildK6(path.join(dir, 'dist'));
      const server = await startServer(path.join(dir, 'data'));
      t.after(() => server.stop());
      const out = path.join(dir, 'smoke-k6.json');
      const run = await runK6Bundle(files.find((f) => f.endsWith(path.join(variant, 'smoke.js')))!, {
        CHATSTORM_URL: server.url,
        CHATSTORM_OUT: out,
        // 12 viewers over 3 VUs: each VU holds several sockets and judges only what it saw.
        VIEWERS_PER_VU: '4',
        // 3 s of load: the dozen sockets join within the 1 s ramp and chat for two more.
        CHATSTORM_SET: 'duration=3s',
        // All emulated VUs share one Node event loop here, on a shared machine: the lag verdict
        // belongs to real k6 (real-k6.test.ts).
        CHATSTORM_LAG_BOUND: '10s',
      });
      assert.deepEqual(run.violations, []);
      assert.equal(run.options.scenarios.viewers!.vus, 3);
      assert.ok(run.sockets.opened >= 12);
      assert.equal(run.sockets.tokenInHeader, run.sockets.opened, 'every socket carried its token in Sec-WebSocket-Protocol');
      const failed = Object.entries(run.thresholds).flatMap(([key, list]) => list.filter((x) => !x.ok).map((x) => `${key}: ${x.expression}`));
      assert.deepEqual(failed, [], 'k6 thresholds');
      assert.match(run.outputs.stdout!, /chatstorm smoke — k6 engine/);
      const result = JSON.parse(run.outputs[out]!) as RunResult;
      assert.equal(result.engine, 'k6');
      assert.equal(result.deliveries.accounting, 'gaps');
      assert.ok(result.messages.sent > 0);
      assert.equal(result.messages.acked, result.messages.sent);
      assert.ok(result.deliveries.expected > 0);
      assert.equal(result.deliveries.delivered, result.deliveries.expected);
      assert.equal(result.deliveries.missing, 0);
      assert.equal(result.viewers.connects.ok, 12);
      assert.equal(result.viewers.peak, 12);
      assert.ok(result.latencyMs.count > 0);
      assert.ok(result.passed, JSON.stringify(result.thresholds));
      if (process.env.SHOW_K6_SUMMARY) process.stdout.write(run.outputs.stdout!);
    });
  }
});
