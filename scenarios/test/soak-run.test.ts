import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RunResult } from '../lib/results.ts';
import { parseServerMetrics, toSeriesPoint } from '../runner/server-scrape.ts';
import { runBench, startServer, tempDir } from './support/processes.ts';
import { waitFor, within } from './support/wait-for.ts';

// Soak runs end to end: a real runner process against a real chatstorm process, one of them
// deliberately leaking (the server's test-only --test-leak-kib-per-message).

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;

// A short soak (well under a minute) sampled twice a second. The limits are wide because 14 s on
// two shared cores is noisy, and shorter than the time between two major GCs: the normal server's
// heap used climbs ~75 MB/min over such a window (garbage not yet collected), its RSS moves by tens
// of MB/min, its event-loop delay by hundreds of ms/min. The leak below is four times the limit.
const SHORT_SOAK = [
  '--profile', 'soak', '--viewers', '20', '--rooms', '2', '--chatters', '2', '--rate', '5',
  '--duration', '14s', '--ramp-up', '2s', '--drain', '1s', '--workers', '1',
  '--set', 'sessionDurationMinutes=60',
  '--set', 'soak.warmup=3s', '--set', 'soak.samplePeriod=500ms',
  '--set', 'soak.limits={"rssMB":300,"heapUsedMB":300,"kibPerConnection":15360,"eventLoopDelayP99Ms":60000,"p99Ms":60000}',
  '--threshold', 'loss == 0',
];
// 20 messages/s × 1 MiB: about 1,200 MB/min retained.
const LEAK_KIB_PER_MESSAGE = '1024';

async function soakAgainst(t: { after(fn: () => void): void }, serverArgs: string[]): Promise<{ code: number | null; output: string; result: RunResult }> {
  const dir = tempDir(t);
  const server = await startServer(path.join(dir, 'data'), serverArgs);
  try {
    const out = path.join(dir, 'soak.json');
    const { code, output } = await runBench(['--url', server.url, '--out', out, ...SHORT_SOAK], 90_000).finished;
    assert.ok(existsSync(out), output);
    return { code, output, result: readResult(out) };
  } finally {
    await server.stop();
  }
}

describe('server scrape', () => {
  it('reads every gauge under any prefix, sums labelled series, and leaves out what the target lacks', () => {
    const text = [
      'chatstorm_process_cpu_seconds_total 12.5',
      'chatstorm_process_resident_memory_bytes 104857600',
      'chatstorm_nodejs_heap_size_used_bytes 52428800',
      'chatstorm_nodejs_eventloop_lag_p99_seconds 0.0125',
      'chatstorm_connections{node="a"} 30',
      'chatstorm_connections{node="b"} 10',
      'chatstorm_connections_opened_total 999',
    ].join('\n');
    const startAt = 1_700_000_000_000;
    const sample = parseServerMetrics(text, startAt + 2500)!;
    assert.deepEqual(toSeriesPoint(sample, startAt), {
      t: 2.5,
      rssMB: 100,
      heapUsedMB: 50,
      openFds: null,
      eventLoopDelayP99Ms: 12.5,
      connections: 40,
      kibPerConnection: 2560,
      cpuSeconds: 12.5,
    });
    assert.equal(parseServerMetrics('up 1', 0), undefined, 'no CPU counter: not a server we can read');
  });
});

describe('soak run', () => {
  it('fails against a leaking server, naming the RSS and heap growth', async (t) => {
    const { code, output, result } = await soakAgainst(t, ['--test-leak-kib-per-message', LEAK_KIB_PER_MESSAGE]);
    assert.equal(code, 1, output);
    assert.equal(result.passed, false);
    assert.equal(result.soak?.passed, false);
    const rss = result.soak!.slopes.find((s) => s.series === 'rssMB')!;
    const heap = result.soak!.slopes.find((s) => s.series === 'heapUsedMB')!;
    assert.equal(rss.verdict, 'growing', JSON.stringify(rss));
    assert.equal(heap.verdict, 'growing', JSON.stringify(heap));
    assert.ok(result.soak!.problems.some((p) => p.startsWith('server RSS grows')), result.soak!.problems.join('\n'));
    assert.ok(result.soak!.problems.some((p) => p.startsWith('server heap used grows')), result.soak!.problems.join('\n'));
    assert.match(output, /soak +FAILED/);
    assert.match(output, /✗ server RSS grows [\d.]+ MB\/min/);
  });

  it('passes the same short soak against the normal server, with its series on the load time base', async (t) => {
    const { code, output, result } = await soakAgainst(t, []);
    assert.equal(code, 0, output);
    assert.equal(result.soak?.passed, true, JSON.stringify(result.soak?.problems));
    assert.deepEqual(result.soak!.problems, []);
    assert.equal(result.soak!.partial, undefined);
    for (const name of ['rssMB', 'heapUsedMB', 'openFds', 'eventLoopDelayP99Ms', 'connections', 'kibPerConnection', 'p99Ms']) {
      const slope = result.soak!.slopes.find((s) => s.series === name);
      assert.ok(slope && slope.verdict === 'flat' && slope.samples >= 10, `${name}: ${JSON.stringify(slope)}`);
    }
    const series = result.serverSeries!;
    // Seconds since the load start, every ~0.5 s, through the run: not performance.now() milliseconds.
    assert.ok(series.length >= 20, String(series.length));
    assert.ok(series[0]!.t >= 0 && series[0]!.t < 2 && series.at(-1)!.t <= result.durationSeconds + 1, JSON.stringify([series[0], series.at(-1)]));
    const loaded = series.filter((p) => p.t > 4 && p.t < 14);
    assert.ok(loaded.every((p) => p.connections === 20 && p.openFds! > 0 && p.heapUsedMB! > 0 && p.rssMB > p.heapUsedMB!), JSON.stringify(loaded[0]));
    assert.match(output, /soak +passed/);
  });

  it('a soak killed mid-run leaves its last checkpoint: a partial result that reads as a report', async (t) => {
    const dir = tempDir(t);
    const server = await startServer(path.join(dir, 'data'));
    t.after(() => server.stop());
    const out = path.join(dir, 'soak.json');
    const args = SHORT_SOAK.map((a) => (a === '14s' ? '5m' : a));
    const { child, finished } = runBench(['--url', server.url, '--out', out, ...args, '--set', 'soak.checkpointEvery=1s'], 120_000);
    const checkpoint = () => (existsSync(out) ? readResult(out) : undefined);
    // Past the warm-up with enough samples to judge: the checkpoint carries slopes, not just a header.
    await waitFor(
      () => (checkpoint()?.soak?.slopes.find((s) => s.series === 'rssMB')?.samples ?? 0) >= 10,
      'a checkpoint with 10 RSS samples after the warm-up',
      60_000,
      200,
    );
    child.kill('SIGKILL');
    const { code } = await within(finished, 'the killed runner to exit', 10_000);
    assert.equal(code, null, 'killed, not finished');
    const r = readResult(out);
    assert.equal(r.soak?.partial, true);
    assert.equal(r.passed, false, 'an unfinished soak has not passed');
    assert.equal(r.scenario, 'soak');
    assert.ok(r.durationSeconds > 4 && r.durationSeconds < 300, String(r.durationSeconds));
    assert.ok(r.timeline.length >= 4 && r.serverSeries!.length >= 10);
    // The ledger judges a connection when it closes: mid-run, the frames received are the figure.
    assert.ok(r.deliveries.frames > 0 && r.messages.sent > 0, JSON.stringify({ deliveries: r.deliveries, messages: r.messages }));
    assert.ok(r.soak.slopes.every((s) => s.verdict !== 'growing'), JSON.stringify(r.soak.slopes));
  });
});
