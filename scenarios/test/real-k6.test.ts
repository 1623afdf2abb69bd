import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it, type TestContext } from 'node:test';
import { buildK6 } from '../k6/build.ts';
import type { RunResult } from '../lib/results.ts';
import { PROFILES } from '../profiles/index.ts';
import { startServer } from './support/processes.ts';
import { findK6, readResult, requireK6, runK6, type K6Binary, type K6Run } from './support/real-k6.ts';

// Every legacy bundle (dist/k6-legacy/*.js) run by a real k6 v0.48 against a real chatstorm
// process, shortened through CHATSTORM_SET. Each run is judged by k6's exit code and by the
// results file its handleSummary wrote. Without a k6 binary the suite skips (fails when CI=true).

const SESSION_MINUTE_SECONDS = 2;
// The same bound for the right-sized and the oversubscribed run, far from both: a right-sized VU
// lags tens of ms on a quiet 2-core machine and a few hundred when other test runs crowd it
// (load average 10 was seen), an oversubscribed one many seconds.
const LAG_BOUND = '1s';

/**
 * The profile's thresholds with its latency limit widened to 2 s: on the shared machine a
 * neighbour's burst moves p99 by hundreds of ms; correctness (loss, duplicates, order, errors,
 * acks) is what these runs judge, unchanged.
 */
function relaxed(profile: string): string {
  const thresholds = PROFILES[profile]!.thresholds!.map((t) => (/^p99 </.test(t) ? 'p99 < 2s' : t));
  return `thresholds=${JSON.stringify(thresholds)}`;
}

interface Case {
  profile: string;
  set: string;
  viewersPerVu: number;
  /** What the profile is about, checked on top of the common verdict. */
  check(r: RunResult): void;
}

const CASES: Case[] = [
  {
    profile: 'smoke',
    set: '',
    viewersPerVu: 4,
    check: (r) => assert.equal(r.viewers.connects.ok, 12),
  },
  {
    // Right-sized: 50 viewers per VU, nowhere near what one VU can read.
    profile: 'fanout',
    set: 'viewers=100;rooms=2;duration=5s;rampUp=2s;drain=1s',
    viewersPerVu: 25,
    check: (r) => {
      assert.equal(r.viewers.peak, 100);
      assert.equal(r.generator.boundVus, 0, 'a right-sized run is not generator-bound');
      assert.equal(r.generator.bottleneck, false);
      assert.ok(r.generator.lagMs!.p99 < 1000, `lag p99 ${r.generator.lagMs!.p99} ms`);
    },
  },
  {
    profile: 'churn',
    set: 'viewers=120;rooms=3;duration=7s;rampUp=2s;drain=1s;churn.leavePerSecond=0.05;churn.storms=[{"at":"3s","leave":0.5},{"at":"5s","leave":0.9}]',
    viewersPerVu: 40,
    check: (r) => {
      assert.ok(r.viewers.connects.ok > 120 + 60, `storms and churn rejoin with fresh tokens (${r.viewers.connects.ok} connects)`);
      assert.ok(r.viewers.disconnects.client > 60);
    },
  },
  {
    profile: 'moderation',
    set: 'viewers=100;rooms=2;duration=6s;rampUp=2s;drain=1s',
    viewersPerVu: 50,
    check: (r) => {
      const a = r.moderation.actions;
      assert.ok(a.delete_message.websocket > 0 && a.delete_message.http > 0, JSON.stringify(a));
      assert.ok(a.disconnect_user.websocket > 0 && a.disconnect_user.http > 0, JSON.stringify(a));
      assert.ok(r.moderation.eventsReceived.disconnectUser > 0);
      assert.ok(r.viewers.disconnects.moderation > 0, 'kicked viewers were told and rejoined');
    },
  },
  {
    // Session expiry compressed: a session minute is 2 s on this server, so every viewer's session
    // ends (ERROR 401) several times in 8 s and it comes back with a fresh token.
    profile: 'soak',
    set: 'viewers=60;rooms=5;duration=8s;rampUp=2s;drain=1s;sessionDurationMinutes=1',
    viewersPerVu: 30,
    check: (r) => {
      assert.ok(r.viewers.disconnects.session_expired >= 60, `sessions expired: ${r.viewers.disconnects.session_expired}`);
      assert.ok(r.viewers.connects.ok >= 120);
    },
  },
  {
    profile: 'capacity',
    // 3 chatters instead of 10: one room of 150 is already 900 frames/s for three VUs.
    set: 'viewers=150;steps=3;duration=6s;drain=1s;chattersPerRoom=3',
    viewersPerVu: 50,
    check: (r) => assert.equal(r.viewers.peak, 150),
  },
];

const k6Lookup = findK6();

// Each run has its own deadline (runK6's timeout, under the per-test 3 minutes); the whole suite
// takes about 75 s here.
describe('legacy k6 bundles under a real k6', { concurrency: false, timeout: 480_000 }, () => {
  let dir = '';
  let dist = '';
  let server: { url: string; stop: () => Promise<void> } | undefined;

  before(async () => {
    if (!k6Lookup.found) return;
    dir = mkdtempSync(path.join(os.tmpdir(), 'chatstorm-real-k6-'));
    // k6 writes handleSummary's files relative to its working directory; the dist folder needs no package.json.
    dist = path.join(dir, 'dist');
    mkdirSync(dist);
    await buildK6(dist);
    server = await startServer(path.join(dir, 'data'), ['--session-minute-seconds', String(SESSION_MINUTE_SECONDS)]);
  });
  after(async () => {
    await server?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function run(k6: K6Binary, profile: string, env: Record<string, string>, args: string[] = []): Promise<{ run: K6Run; out: string }> {
    const out = path.join(dir, `${profile}-${Date.now()}.json`);
    const result = await runK6(k6, {
      script: path.join(dist, 'k6-legacy', `${profile}.js`),
      env: { CHATSTORM_URL: server!.url, CHATSTORM_OUT: out, CHATSTORM_LAG_BOUND: LAG_BOUND, ...env },
      args,
      cwd: dir,
      timeoutMs: 60_000,
    });
    return { run: result, out };
  }

  // The smoke case and the --summary-export test judge the same run: k6's verdict and results
  // file there, k6's own summary file here.
  const exported = () => path.join(dir, 'summary-export.json');
  let smoke: Promise<{ run: K6Run; out: string }> | undefined;
  function runCase(k6: K6Binary, c: Case): Promise<{ run: K6Run; out: string }> {
    const set = [c.set, relaxed(c.profile)].filter(Boolean).join(';');
    const env = { CHATSTORM_SET: set, VIEWERS_PER_VU: String(c.viewersPerVu) };
    if (c.profile !== 'smoke') return run(k6, c.profile, env);
    smoke ??= run(k6, c.profile, env, [`--summary-export=${exported()}`, '--tag', 'testid=real-k6-test']);
    return smoke;
  }

  function verdictOf(r: RunResult): string {
    return r.thresholds.map((t) => `${t.pass ? 'PASS' : 'FAIL'} ${t.expression} (${t.observed ?? t.note})`).join('; ');
  }

  for (const c of CASES) {
    it(`${c.profile}: k6 exits 0 and its handleSummary shows delivered == expected, no duplicates, every threshold passed`, async (t: TestContext) => {
      const k6 = requireK6(t);
      if (!k6) return;
      const { run: k6run, out } = await runCase(k6, c);
      const r = readResult(out, k6run);
      t.diagnostic(
        `${c.profile}: ${k6run.seconds.toFixed(1)} s, exit ${k6run.code}, ${r.viewers.connects.ok} connects, delivered ${r.deliveries.delivered} of ${r.deliveries.expected}, ` +
          `latency p99 ${r.latencyMs.p99.toFixed(0)} ms, k6 lag p99 ${r.generator.lagMs?.p99.toFixed(0)} ms`,
      );
      assert.equal(k6run.code, 0, `k6 exit code (${verdictOf(r)})\n${k6run.output}`);
      assert.equal(r.engine, 'k6');
      assert.equal(r.verdict, 'passed', verdictOf(r));
      assert.ok(r.passed);
      assert.ok(r.messages.sent > 0);
      assert.ok(r.deliveries.expected > 0);
      assert.equal(r.deliveries.delivered, r.deliveries.expected);
      assert.equal(r.deliveries.missing, 0);
      assert.equal(r.deliveries.duplicated, 0);
      assert.equal(r.deliveries.outOfOrder, 0);
      assert.ok(r.thresholds.length > 0 && r.thresholds.every((x) => x.pass), verdictOf(r));
      assert.equal(r.generator.latencyCorrected, false);
      c.check(r);
    });
  }

  it('--summary-export still writes k6’s own summary beside handleSummary’s results, with the same counts', async (t) => {
    const k6 = requireK6(t);
    if (!k6) return;
    const { run: k6run, out } = await runCase(k6, CASES.find((c) => c.profile === 'smoke')!);
    assert.equal(k6run.code, 0, k6run.output);
    assert.ok(existsSync(exported()), `no ${exported()}:\n${k6run.output}`);
    const summary = JSON.parse(readFileSync(exported(), 'utf8')) as { metrics: Record<string, Record<string, unknown>> };
    const r = readResult(out, k6run);
    assert.equal(summary.metrics.deliveries!.count, r.deliveries.frames);
    assert.equal(summary.metrics.messages_sent!.count, r.messages.sent);
    assert.ok(typeof summary.metrics.delivery_latency!['p(99)'] === 'number');
    assert.ok(summary.metrics.generator_lag, 'the lag probe is a k6 metric too');
  });

  it('refused connections above 20 % abort the run early (abortOnFail): exit 99, a failed verdict naming the threshold', async (t) => {
    const k6 = requireK6(t);
    if (!k6) return;
    // A session of 500 minutes is outside CreateChatToken's 1..180: every token request is
    // answered 400 ValidationException, so every viewer is refused. The run is planned for 60 s.
    const { run: k6run, out } = await run(k6, 'smoke', { CHATSTORM_SET: 'duration=60s;sessionDurationMinutes=500', VIEWERS_PER_VU: '6' });
    const r = readResult(out, k6run);
    assert.equal(k6run.code, 99, k6run.output);
    assert.match(k6run.output, /thresholds on metrics 'connect_refused'[^\n]*have been crossed|connect_refused/);
    assert.ok(k6run.seconds < 45, `aborted after ${k6run.seconds} s, not at the planned end`);
    assert.equal(r.verdict, 'failed');
    assert.ok(r.viewers.connects.refused > 0);
    assert.ok(r.thresholds.some((x) => !x.pass && x.expression.includes('connect_refused')), verdictOf(r));
  });

  it('a grossly oversubscribed VU (2,000 viewers in one) is marked generator-bound and k6 exits 108, not 99', async (t) => {
    const k6 = requireK6(t);
    if (!k6) return;
    // The profile and lag bound of the right-sized fanout above, with 80× the viewers per VU and
    // 5× the chat: ~1,400 viewers of the hot room × 50 messages/s is 70,000 frames/s for one VU,
    // some twenty times what one k6 VU reads here.
    const { run: k6run, out } = await run(k6, 'fanout', {
      // 8 s: the backlog, and so the lag, grows for as long as the load lasts; a second of it is
      // already tens of thousands of frames behind.
      CHATSTORM_SET: 'viewers=2000;rooms=2;duration=8s;rampUp=2s;drain=1s;rate=10',
      VIEWERS_PER_VU: '2000',
    });
    const r = readResult(out, k6run);
    t.diagnostic(
      `oversubscribed: ${k6run.seconds.toFixed(1)} s, exit ${k6run.code}, ${r.viewers.peak} viewers connected, lag p50/p99 ${r.generator.lagMs?.p50.toFixed(0)}/${r.generator.lagMs?.p99.toFixed(0)} ms, ` +
        `receive backlog p99 ${r.generator.receiveBacklog?.p99.toFixed(0)} frames, delivery p99 ${r.latencyMs.p99.toFixed(0)} ms`,
    );
    assert.equal(k6run.code, 108, k6run.output);
    assert.match(k6run.output, /test aborted: generator-bound/);
    assert.equal(r.verdict, 'generator-bound');
    assert.equal(r.passed, false);
    assert.equal(r.generator.bottleneck, true);
    assert.equal(r.generator.boundVus, 1);
    assert.ok(r.generator.lagMs!.p99 > 1000, `lag p99 ${r.generator.lagMs!.p99} ms`);
    assert.match(r.generator.warnings.join('\n'), /generator-bound/);
  });
});
