import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { decodeHistogram } from '../runner/latency-recorder.ts';
import { MergeError, mergeResults } from '../runner/merge-results.ts';
import { parseCli, UsageError } from '../runner/args.ts';
import type { RunResult } from '../lib/results.ts';
import { startFaultyProxy } from './support/faulty-proxy.ts';
import { REPO_ROOT, runBench, startServer, tempDir, type Finished } from './support/processes.ts';

// Load from many machines: shards of one profile (--shard i/n) merged by npm run bench:merge, and
// viewers spread over several nodes (--url repeated). Real runner processes, a real server.

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;

function runMerge(args: string[]): Promise<Finished> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scenarios/runner/merge-cli.ts', ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((resolve) =>
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    }),
  );
}

describe('shards and nodes', () => {
  it('two shards split the viewers between them and bench:merge judges loss over both, adding the histograms', async (t) => {
    const dir = tempDir(t);
    const server = await startServer(path.join(dir, 'data'));
    t.after(() => server.stop());
    const files = [1, 2].map((i) => path.join(dir, `shard-${i}.json`));
    const common = ['--profile', 'smoke', '--duration', '3s', '--url', server.url, '--run-id', `t${Date.now().toString(36)}`, '--workers', '1', '--no-pin'];
    // Shard 2 first: it must wait for shard 1's rooms rather than fail or create its own.
    const second = runBench([...common, '--shard', '2/2', '--out', files[1]!], 90_000);
    const first = runBench([...common, '--shard', '1/2', '--out', files[0]!], 90_000);
    const [a, b] = await Promise.all([first.finished, second.finished]);
    assert.equal(a.code, 0, a.output);
    assert.equal(b.code, 0, b.output);
    const shards = files.map(readResult);

    assert.deepEqual(shards.map((r) => r.viewers.connects.ok), [6, 6], 'viewers 0,2,4,… on shard 1 and 1,3,5,… on shard 2');
    assert.deepEqual(shards.map((r) => r.shard && [r.shard.index, r.shard.count]), [[0, 2], [1, 2]]);
    assert.ok(shards.every((r) => r.shard!.deliveryLog.closed.length === 6), 'each shard logged its own receivers');

    const merged = await runMerge([...files, '--out', path.join(dir, 'merged.json')]);
    assert.equal(merged.code, 0, merged.output);
    const m = readResult(path.join(dir, 'merged.json'));
    assert.match(merged.output, /merged +2 shards/);
    assert.equal(m.viewers.connects.ok, 12);
    assert.equal(m.messages.sent, shards[0]!.messages.sent + shards[1]!.messages.sent);
    // Every chatter's message reached receivers on both shards: the merged ledger expects more than
    // either shard could judge alone, and (a correct server) all of it arrived.
    assert.ok(m.deliveries.expected > Math.max(...shards.map((r) => r.deliveries.expected)), 'the merge judges more than one shard could');
    assert.equal(m.deliveries.missing, 0);
    assert.equal(m.deliveries.delivered, m.deliveries.expected);
    assert.equal(m.deliveries.delivered, shards[0]!.deliveries.frames + shards[1]!.deliveries.frames, 'every received frame was expected exactly once');
    // Histograms added, not averaged: the merged histogram holds every shard's samples.
    const count = (r: RunResult) => decodeHistogram(r.histograms!.latencyUs)?.totalCount ?? 0;
    assert.equal(count(m), count(shards[0]!) + count(shards[1]!));
    assert.equal(m.latencyMs.count, count(m));
    assert.ok(m.thresholds.length > 0 && m.thresholds.every((v) => v.pass), JSON.stringify(m.thresholds));
  });

  it('bench:merge refuses a set that is not every shard of one run exactly once, saying which', () => {
    const shard = (index: number, runId = 'r1', count = 2) =>
      ({ shard: { index, count, runId, deliveryLog: { sends: [], resolutions: [], closed: [] } }, histograms: { latencyUs: '', handshakeUs: '', tokenUs: '', ackUs: '' }, profile: {} }) as unknown as RunResult;
    assert.throws(() => mergeResults([shard(0)], ['a.json']), (e: Error) => e instanceof MergeError && /shard\(s\) 2\/2 of run r1 missing/.test(e.message));
    assert.throws(() => mergeResults([shard(0), shard(0)], ['a.json', 'b.json']), /shard 1\/2 is given twice: a\.json and b\.json/);
    assert.throws(() => mergeResults([shard(0), shard(1, 'r2')], ['a.json', 'b.json']), /b\.json: run r2, but a\.json is run r1/);
    assert.throws(() => mergeResults([shard(0), { ...shard(1), shard: undefined } as RunResult], ['a.json', 'b.json']), /b\.json: not a shard/);
  });

  it('--shard takes I/N counted from 1 and needs --run-id and --url', () => {
    assert.deepEqual(parseCli(['--shard', '2/3', '--run-id', 'x', '--url', 'http://127.0.0.1:1']).shard, { index: 1, count: 3 });
    assert.throws(() => parseCli(['--shard', '0/3', '--run-id', 'x', '--url', 'http://127.0.0.1:1']), (e: Error) => e instanceof UsageError && /I\/N with 1 ≤ I ≤ N/.test(e.message));
    assert.throws(() => parseCli(['--shard', '1/2', '--url', 'http://127.0.0.1:1']), /--shard needs --run-id/);
    assert.throws(() => parseCli(['--shard', '1/2', '--run-id', 'x']), /--shard needs --url/);
    assert.deepEqual(parseCli(['--url', 'http://a:1,http://b:2', '--url', 'http://c:3']).urls, ['http://a:1', 'http://b:2', 'http://c:3']);
  });

  it('with several --url the viewers spread over the nodes and the summary shows each node’s deliveries and latency', async (t) => {
    const dir = tempDir(t);
    const server = await startServer(path.join(dir, 'data'));
    t.after(() => server.stop());
    // A second way in to the same server stands for a second node (one node has no backplane to share rooms).
    const proxy = await startFaultyProxy(server.url.replace(/^http/, 'ws') + '/', { seed: 1, drop: 0, duplicate: 0, swap: 0, delay: 0, delayMs: 0, refuse: 0, refuseAmong: 0, chance: 0 });
    t.after(() => proxy.close());
    const out = path.join(dir, 'nodes.json');
    const { finished } = runBench(['--profile', 'smoke', '--duration', '3s', '--url', server.url, '--url', proxy.url, '--workers', '1', '--no-pin', '--out', out], 60_000);
    const { code, output } = await finished;
    assert.equal(code, 0, output);
    const r = readResult(out);
    assert.equal(r.nodes?.length, 2);
    assert.deepEqual(r.nodes!.map((n) => n.viewers), [6, 6]);
    assert.ok(r.nodes!.every((n) => n.frames > 0 && n.latencyMs.count === n.frames), JSON.stringify(r.nodes));
    assert.equal(r.nodes![0]!.frames + r.nodes![1]!.frames, r.deliveries.frames);
    assert.ok(proxy.injected.handshakes >= 6, `half the viewers came through the second node (${proxy.injected.handshakes} handshakes)`);
    assert.equal(r.deliveries.missing, 0);
    assert.match(output, new RegExp(`node +${proxy.url.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')} +viewers 6`));
  });
});
