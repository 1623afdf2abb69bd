import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { RunResult } from '../lib/results.ts';
import { readReportModel } from '../runner/html-report.ts';
import { freePort, runBench, startServer, tempDir } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

// The Node runner end to end: real processes, real sockets, a real chatstorm server.

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;

// The names TEAM.md promises the dashboards.
const LOAD_METRICS = [
  'chatstorm_load_viewers',
  'chatstorm_load_viewers_target',
  'chatstorm_load_connects_total',
  'chatstorm_load_disconnects_total',
  'chatstorm_load_handshake_duration_seconds',
  'chatstorm_load_token_duration_seconds',
  'chatstorm_load_messages_sent_total',
  'chatstorm_load_messages_acked_total',
  'chatstorm_load_deliveries_total',
  'chatstorm_load_deliveries_missing_total',
  'chatstorm_load_deliveries_duplicated_total',
  'chatstorm_load_deliveries_out_of_order_total',
  'chatstorm_load_delivery_latency_seconds',
  'chatstorm_load_errors_total',
  'chatstorm_load_moderation_actions_total',
  'chatstorm_load_generator_cpu_ratio',
  'chatstorm_load_generator_backlog_seconds',
  'chatstorm_load_info',
];

describe('node runner', () => {
  it('runs the smoke profile against the embedded server and every expected message is delivered exactly once', async (t) => {
    const out = path.join(tempDir(t), 'smoke.json');
    const { finished } = runBench(['--profile', 'smoke', '--duration', '3s', '--out', out], 60_000);
    const { code, output } = await finished;
    assert.equal(code, 0, output);
    const r = readResult(out);
    assert.equal(r.scenario, 'smoke');
    assert.equal(r.target.kind, 'embedded');
    assert.ok(r.messages.sent > 0, 'messages were sent');
    assert.equal(r.messages.acked, r.messages.sent, 'every sender saw its own message');
    assert.ok(r.deliveries.expected > 0, 'deliveries were expected');
    assert.equal(r.deliveries.delivered, r.deliveries.expected);
    assert.equal(r.deliveries.missing, 0);
    assert.equal(r.deliveries.duplicated, 0);
    assert.equal(r.deliveries.outOfOrder, 0);
    assert.equal(r.viewers.peak, 12);
    assert.equal(r.viewers.connects.ok, 12);
    assert.ok(r.latencyMs.count > 0 && r.latencyMs.p99 >= r.latencyMs.p50);
    assert.ok(r.thresholds.length > 0 && r.thresholds.every((v) => v.pass), JSON.stringify(r.thresholds));
    assert.match(output, /deliveries +expected/);
    for (const field of ['startedAt', 'durationSeconds', 'errors', 'generator'] as const) assert.ok(field in r, field);
    assert.equal(typeof r.generator.cpuPercent, 'number');
    // Beside the JSON: the same run as charts, each series with a value per timeline entry (the
    // page itself is checked in a browser by html-report-browser.test.ts).
    const page = readFileSync(out.replace(/\.json$/, '.html'), 'utf8');
    assert.match(output, new RegExp(`charts +${out.replace(/\.json$/, '.html').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    const charts = readReportModel(page).charts;
    const series = charts.flatMap((c) => c.series.map((s, k) => ({ label: s.label, values: c.tables[0]![k + 1]! })));
    for (const label of ['connected', 'target', 'delivered/s', 'p50', 'p99', 'sent/s', 'generator CPU %']) {
      const found = series.find((s) => s.label === label);
      assert.ok(found, `a "${label}" series`);
      assert.equal(found.values.length, r.timeline.length, label);
    }
    assert.deepEqual(series.find((s) => s.label === 'connected')!.values, r.timeline.map((p) => p.viewers));
    assert.match(page, /<h1 id="headline">chatstorm smoke: <span class="pass">PASSED<\/span>/);
  });

  // One run against a server of our own, over the bare-socket transport, judged by two tests: what
  // it exports while it runs, and that the raw transport delivered everything.
  let urlRun: Promise<{ code: number | null; output: string; metrics: string; result: RunResult }> | undefined;
  let cleanUp = async () => {};
  after(() => cleanUp());
  const runAgainstUrl = () =>
    (urlRun ??= (async () => {
      const dir = mkdtempSync(path.join(os.tmpdir(), 'chatstorm-scenarios-'));
      cleanUp = async () => rmSync(dir, { recursive: true, force: true });
      const server = await startServer(path.join(dir, 'data'));
      cleanUp = async () => {
        await server.stop();
        rmSync(dir, { recursive: true, force: true });
      };
      const metricsPort = await freePort();
      const out = path.join(dir, 'smoke.json');
      const { finished } = runBench(
        ['--profile', 'smoke', '--duration', '3s', '--url', server.url, '--transport', 'raw', '--metrics-port', String(metricsPort), '--out', out],
        60_000,
      );
      // Wait for the runner to report connected viewers, then read everything it exports.
      let metrics = '';
      await waitFor(
        async () => {
          metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text(), () => '');
          return /^chatstorm_load_viewers [1-9]/m.test(metrics);
        },
        'the runner’s /metrics to report connected viewers',
        30_000,
        200,
      );
      const { code, output } = await finished;
      assert.equal(code, 0, output);
      return { code, output, metrics, result: readResult(out) };
    })());

  it('targets another server with --url and serves exactly the contract’s chatstorm_load_* metrics while it runs', async () => {
    const { metrics: text, result: r } = await runAgainstUrl();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]));
    assert.deepEqual([...exported].sort(), [...LOAD_METRICS].sort());
    assert.match(text, /^chatstorm_load_info\{scenario="smoke"\} 1$/m);
    assert.match(text, /^chatstorm_load_connects_total\{outcome="ok"\} \d+/m);
    assert.match(text, /^chatstorm_load_delivery_latency_seconds_bucket\{le="\+Inf"\} \d+/m);
    assert.equal(r.target.kind, 'url');
    assert.equal(r.deliveries.delivered, r.deliveries.expected);
    assert.ok(r.server && r.server.rssMB > 0, 'the server’s own cost was read from its /metrics');
  });

  it('delivers everything over the bare-socket transport too', async () => {
    const { result: r } = await runAgainstUrl();
    assert.ok(r.deliveries.expected > 0);
    assert.equal(r.deliveries.delivered, r.deliveries.expected);
    assert.equal(r.messages.acked, r.messages.sent);
    assert.equal(r.viewers.disconnects.client, 12, 'our closes were answered and counted as ours');
  });

  it('moderates: viewers kicked by DisconnectUser over WebSocket and HTTP rejoin with fresh tokens and nothing is lost', async (t) => {
    const out = path.join(tempDir(t), 'moderation.json');
    const { finished } = runBench(
      ['--profile', 'moderation', '--viewers', '60', '--rooms', '2', '--duration', '4s', '--ramp-up', '1s', '--drain', '2s', '--threshold', 'loss == 0', '--out', out],
      60_000,
    );
    const { code, output } = await finished;
    assert.equal(code, 0, output);
    const r = readResult(out);
    const m = r.moderation.actions;
    assert.ok(m.disconnect_user.websocket > 0 && m.disconnect_user.http > 0, JSON.stringify(m));
    assert.ok(m.delete_message.websocket > 0 && m.delete_message.http > 0, JSON.stringify(m));
    assert.ok(r.moderation.eventsReceived.deleteMessage > 0);
    assert.ok(r.viewers.disconnects.moderation > 0, JSON.stringify(r.viewers.disconnects));
    assert.ok(r.viewers.connects.ok > 60, `kicked viewers came back (${r.viewers.connects.ok} connects)`);
    assert.equal(r.viewers.connects.refused, 0, 'every rejoin used a fresh token');
    assert.equal(r.deliveries.missing, 0);
    assert.equal(r.deliveries.delivered, r.deliveries.expected);
  });

  it('churns: a leave storm rejoins with fresh tokens and the accounting still adds up', async (t) => {
    const out = path.join(tempDir(t), 'churn.json');
    const { finished } = runBench(
      [
        '--profile', 'churn', '--viewers', '120', '--rooms', '2', '--duration', '5s', '--ramp-up', '1s', '--drain', '2s',
        '--set', 'churn.storms=[{"at":"2s","leave":0.8}]', '--set', 'churn.rejoinDelay=500ms',
        '--threshold', 'loss == 0', '--threshold', 'duplicates == 0', '--out', out,
      ],
      60_000,
    );
    const { code, output } = await finished;
    assert.equal(code, 0, output);
    const r = readResult(out);
    assert.ok(r.viewers.disconnects.client > 120 + 50, `storm and churn closes: ${JSON.stringify(r.viewers.disconnects)}`);
    assert.ok(r.viewers.connects.ok > 120 + 50, `and as many rejoins: ${r.viewers.connects.ok}`);
    assert.equal(r.viewers.connects.refused, 0);
    assert.equal(r.deliveries.missing, 0);
    assert.equal(r.deliveries.delivered, r.deliveries.expected);
  });
});
