import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveProfile } from '../lib/profile.ts';
import type { RunResult } from '../lib/results.ts';
import { PROFILES } from '../profiles/index.ts';
import { startEmbeddedServer } from '../runner/embedded-server.ts';
import { validateProfile } from '../runner/profile-schema.ts';
import { runScenario } from '../runner/run.ts';
import { runBench, startServer, tempDir } from './support/processes.ts';

// `npm run bench -- --audit` end to end: a real chatstorm process writes its chat log, the runner
// reads it back after the run and checks it against what it was acknowledged.

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;

describe('bench --audit', () => {
  it('audits a mixed run (chat, DeleteMessage, DisconnectUser, churn) against the embedded server’s log: nothing lost, nothing twice', async (t) => {
    const out = path.join(tempDir(t), 'mixed.json');
    const { finished } = runBench(
      [
        '--profile', 'mixed', '--audit', '--viewers', '60', '--rooms', '2', '--duration', '6s', '--ramp-up', '1s', '--drain', '2s',
        '--set', 'churn.storms=[{"at":"3s","leave":0.5}]', '--set', 'moderation.disconnectUserPerSecond=2', '--workers', '1', '--out', out,
      ],
      90_000,
    );
    const { code, output } = await finished;
    assert.equal(code, 0, output);
    const r = readResult(out);
    const a = r.audit;
    assert.ok(a, 'the results carry an audit section');
    assert.equal(a.passed, true, a.problems.join('\n'));
    assert.ok(a.messages.acknowledged > 0 && a.messages.acknowledged === r.messages.acked, `acknowledged ${a.messages.acknowledged}, acked ${r.messages.acked}`);
    assert.equal(a.messages.logged, a.messages.acknowledged);
    assert.equal(a.messages.missing, 0);
    assert.equal(a.messages.duplicated, 0);
    assert.equal(a.messages.outOfOrder, 0);
    assert.ok(a.events.acknowledged > 0, 'moderation actions were acknowledged');
    assert.equal(a.events.logged, a.events.acknowledged);
    assert.ok(a.events.deleteMessage > 0 && a.events.disconnectUser > 0, JSON.stringify(a.events));
    assert.equal(a.viewers.delivered, a.viewers.expected);
    assert.ok(r.viewers.disconnects.moderation > 0 && r.viewers.disconnects.client > 0, JSON.stringify(r.viewers.disconnects));
    assert.match(output, /audit +PASS +messages acknowledged [\d,]+ · logged [\d,]+ · missing from log 0 · duplicated in log 0 · out of order 0/);
  });

  it('finds exactly the 3 acknowledged messages deleted from the log after the server stopped, and fails the run', async (t) => {
    const server = await startEmbeddedServer();
    t.after(() => server.stop());
    const profile = validateProfile(resolveProfile(PROFILES.smoke!));
    let damagedFile = '';
    const result = await runScenario({
      profile,
      target: {
        kind: 'embedded',
        url: server.url,
        wsUrl: `${server.url.replace('http', 'ws')}/`,
        control: { kind: 'http', url: server.url },
        roomRateCap: 1_000_000,
        cleanUp: false,
      },
      workers: 1,
      progress: false,
      log: () => {},
      audit: {
        logsDir: path.join(server.dataDir, 'logs'),
        // The test-only damage: once the server has stopped and flushed, three lines go missing.
        logComplete: async (files) => {
          assert.equal(await server.shutdown(), true, 'the server stopped cleanly');
          damagedFile = files[0]!;
          const lines = readFileSync(damagedFile, 'utf8').split('\n');
          const n = lines.length - 1; // the last "line" is what follows the final newline
          assert.ok(n >= 8, `room 0 logged ${n} records, enough to damage`);
          const doomed = new Set([Math.floor(n / 4), Math.floor(n / 2), Math.floor((3 * n) / 4)]);
          writeFileSync(damagedFile, lines.filter((_, k) => !doomed.has(k)).join('\n'));
        },
      },
    });
    assert.equal(result.messages.acked, result.messages.sent, 'every send was acknowledged, so every deleted line was one');
    assert.equal(result.deliveries.missing, 0, 'the viewers themselves lost nothing');
    assert.ok(result.audit, 'the result carries the audit');
    assert.equal(result.audit.messages.missing, 3, result.audit.problems.join('\n'));
    assert.equal(result.audit.messages.logged, result.audit.messages.acknowledged - 3);
    assert.equal(result.audit.messages.duplicated, 0);
    assert.equal(result.audit.messages.outOfOrder, 0);
    assert.equal(result.audit.passed, false);
    assert.equal(result.passed, false, 'a failed audit fails the run (exit 1)');
    assert.deepEqual(result.audit.problems.length, 1);
    assert.match(result.audit.problems[0]!, /^3 acknowledged message\(s\) missing from the chat log \(e\.g\. room 0: v\d+ #\d+; room 0: v\d+ #\d+; room 0: v\d+ #\d+\)$/);
    assert.equal(path.basename(path.dirname(damagedFile)), path.basename(result.audit.source));
  });

  it('audits a server given by --url through --audit-log-dir, its data dir', async (t) => {
    const dir = tempDir(t);
    const dataDir = path.join(dir, 'data');
    const server = await startServer(dataDir);
    t.after(() => server.stop());
    const out = path.join(dir, 'smoke.json');
    const { finished } = runBench(['--profile', 'smoke', '--duration', '3s', '--url', server.url, '--audit', '--audit-log-dir', dataDir, '--out', out], 60_000);
    const { code, output } = await finished;
    assert.equal(code, 0, output);
    const a = readResult(out).audit;
    assert.ok(a && a.passed, JSON.stringify(a?.problems));
    assert.ok(a.messages.acknowledged > 0);
    assert.equal(a.messages.logged, a.messages.acknowledged);
    // The run used a logging destination of its own, and deleted its configuration afterwards.
    assert.equal(readdirSync(path.join(dataDir, 'logs', 's3')).length, 1);
    const listed = (await fetch(`${server.url}/ListLoggingConfigurations`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' }).then((r) =>
      r.json(),
    )) as { loggingConfigurations: unknown[] };
    assert.deepEqual(listed.loggingConfigurations, []);
  });

  it('exits 1 and names the loss when the log it is pointed at lacks the run’s messages', async (t) => {
    const dir = tempDir(t);
    const server = await startServer(path.join(dir, 'data'));
    t.after(() => server.stop());
    const elsewhere = path.join(dir, 'elsewhere');
    mkdirSync(elsewhere);
    const out = path.join(dir, 'smoke.json');
    const { finished } = runBench(['--profile', 'smoke', '--duration', '3s', '--url', server.url, '--audit', '--audit-log-dir', elsewhere, '--out', out], 60_000);
    const { code, output } = await finished;
    assert.equal(code, 1, output);
    const r = readResult(out);
    assert.ok(r.audit && r.audit.messages.acknowledged > 0);
    assert.equal(r.audit.messages.missing, r.audit.messages.acknowledged);
    assert.ok(r.thresholds.every((v) => v.pass), 'only the audit failed');
    assert.match(output, new RegExp(`AUDIT FAILED +${r.audit.messages.missing} acknowledged message\\(s\\) missing from the chat log \\(e\\.g\\. room 0: v0 #1;`));
    assert.match(output, /result +FAILED/);
  });

  it('refuses --audit where the log cannot be read, before anything connects', async () => {
    const refusals: Promise<void>[] = [];
    for (const [args, message] of [
      [['--url', 'http://127.0.0.1:9', '--audit'], /with --url, add --audit-log-dir DIR/],
      [['--aws-region', 'us-east-1', '--audit'], /Amazon IVS delivers its logs/],
      [['--audit-log-dir', '/tmp'], /--audit-log-dir is only read with --audit/],
      [['--audit', '--audit-log-dir', '/tmp'], /--audit-log-dir is for --url targets/],
      [['--url', 'http://127.0.0.1:9', '--audit', '--audit-log-dir', '/nonexistent/chatstorm'], /no such directory/],
    ] as const) {
      // Each is refused while its arguments are read: the five processes need not wait for each other.
      refusals.push(runBench(['--profile', 'smoke', ...args], 30_000).finished.then(({ code, output }) => {
        assert.equal(code, 2, output);
        assert.match(output, message);
      }));
    }
    await Promise.all(refusals);
  });
});
