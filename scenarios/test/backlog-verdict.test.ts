import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RunResult } from '../lib/results.ts';
import { readReportModel } from '../runner/html-report.ts';
import { runBench, tempDir } from './support/processes.ts';
import { waitFor } from './support/wait-for.ts';

// Who broke a capacity step, told by where the backlog sat: a generator made slow on purpose
// leaves the server's frames unread in its receive queues (generator-bound); a server stopped for
// 1.5 s makes latency break the step while those queues stay empty (server-bound). Real runs of
// `npm run bench` against the embedded server, a few seconds each.

const LIMIT_MS = 25; // a quarter of the capacity profile's p99 ≤ 100 ms

/** Two steps of 20 then 40 viewers in one room, one chatter (viewer 0, in worker 0) at 50 msg/s. */
const STEPS = ['--profile', 'capacity', '--no-pin', '--set', 'steps=2', '--set', 'viewers=40', '--set', 'chattersPerRoom=1', '--set', 'rate=50', '--set', 'drain=2s'];

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;

function backlogs(r: RunResult): string {
  return JSON.stringify({ steps: r.steps?.map((s) => [s.step + 1, s.broken, s.latencyMs.p99, s.generatorBacklogMs]), backlog: r.generator.backlog, timeline: r.timeline.map((p) => [p.t, p.generatorBacklogMs]) });
}

describe('capacity break: generator or server, by where the backlog sat', () => {
  it('reports a step broken while a worker read 100 ms in every second as bound by the generator, on the bytes left unread in its receive queues', async (t) => {
    const out = path.join(tempDir(t), 'generator-behind.json');
    // Worker 1 holds half the audience and no chatter: it runs 100 ms, then blocks 900 ms, over and
    // over, while worker 0 keeps sending and the server keeps delivering.
    const { finished } = runBench([...STEPS, '--workers', '2', '--duration', '8s', '--out', out], 90_000, { CHATSTORM_TEST_STALL_WORKER: '1:900:100' });
    const { output } = await finished;
    const r = readResult(out);
    t.diagnostic(backlogs(r));
    const step = r.steps?.[0];
    assert.ok(step?.broken, `step 1 broke on its p99\n${backlogs(r)}\n${output}`);
    assert.ok(step.generatorBacklogMs, `step 1's backlog was measured\n${backlogs(r)}`);
    assert.ok(step.generatorBacklogMs.median > LIMIT_MS, `the generator was more than ${LIMIT_MS} ms behind at the median interval\n${backlogs(r)}`);
    assert.equal(r.capacity?.breakingStep, 1);
    assert.equal(r.capacity?.boundBy, 'generator', backlogs(r));
    assert.equal(r.generator.backlog?.sat, 'generator');
    assert.equal(r.generator.bottleneck, true);
    assert.match(output, /backlog +generator behind by median [\d.]+ ms.*in the generator's receive queues/);
    // The page charts the same series, nulls as gaps, with the limit drawn.
    const chart = readReportModel(readFileSync(out.replace(/\.json$/, '.html'), 'utf8')).charts.find((c) => c.id === 'backlog');
    assert.ok(chart, 'the report has a backlog chart');
    assert.deepEqual(chart.tables[0]![1], r.timeline.map((p) => p.generatorBacklogMs ?? null));
    assert.equal(chart.hlines?.[0]?.y, LIMIT_MS);
  });

  it('reports a step broken by the server stopped for 1.5 s as bound by the server: its receive queues stayed near empty', async (t) => {
    const out = path.join(tempDir(t), 'server-behind.json');
    // p99 ≤ 400 ms: on a busy shared machine step 1 must hold on its own; the 1.5 s stop breaks step 2 all the same.
    const { child, finished } = runBench([...STEPS, '--workers', '1', '--duration', '10s', '--set', 'capacity.p99=400ms', '--out', out], 90_000);
    let log = '';
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    let server: { url: string; pid: number } | undefined;
    let connections = -1;
    const stopped = { pid: 0 };
    t.after(() => {
      // Never leave the server stopped: the runner could not end it.
      if (stopped.pid) process.kill(stopped.pid, 'SIGCONT');
    });
    await waitFor(
      () => {
        const m = log.match(/chatstorm started at (\S+) \(pid (\d+)\)/);
        if (m) server = { url: m[1]!, pid: Number(m[2]) };
        return server !== undefined;
      },
      () => `the runner to start its server\n${log}`,
      30_000,
      50,
    );
    // Step 2 has begun once all 40 viewers are connected (step 1 holds 20).
    await waitFor(
      async () => {
        const text = await fetch(`${server!.url}/metrics`).then((res) => res.text(), () => '');
        connections = Number(text.match(/^chatstorm_connections (\d+)/m)?.[1] ?? -1);
        return connections >= 40;
      },
      () => `40 connections on the server (step 2), saw ${connections}\n${log}`,
      45_000,
      100,
    );
    process.kill(server!.pid, 'SIGSTOP');
    stopped.pid = server!.pid;
    const resumeAt = Date.now() + 1500;
    await waitFor(() => Date.now() >= resumeAt, 'the end of the 1.5 s stop', 5000, 50);
    process.kill(server!.pid, 'SIGCONT');
    stopped.pid = 0;
    const { output } = await finished;
    const r = readResult(out);
    t.diagnostic(backlogs(r));
    const step = r.steps?.[1];
    assert.ok(step?.broken, `step 2 broke on its p99\n${backlogs(r)}\n${output}`);
    assert.equal(r.steps?.[0]?.broken, false, `step 1 held\n${backlogs(r)}`);
    assert.ok(step.generatorBacklogMs, `step 2's backlog was measured\n${backlogs(r)}`);
    assert.equal(r.generator.backlog?.limitMs, 100, 'a quarter of p99 ≤ 400 ms');
    assert.ok(step.generatorBacklogMs.median <= 100, `the generator kept up at the median interval\n${backlogs(r)}`);
    assert.equal(r.capacity?.breakingStep, 2);
    assert.equal(r.capacity?.boundBy, 'server', `${backlogs(r)}\nwarnings: ${r.generator.warnings.join(' | ')}`);
    assert.notEqual(r.generator.backlog?.sat, 'generator');
    assert.equal(r.generator.bottleneck, false);
  });
});
