import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

// bench:compare --quick, as CI runs it: every workload against all three servers at tiny sizes.
// It asserts that every figure was produced (a number where a number belongs, every target,
// every workload), never the figures themselves: those depend on the machine.

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const finite = (x: unknown, what: string) => assert.ok(typeof x === 'number' && Number.isFinite(x), `${what} is a finite number (got ${String(x)})`);
const positive = (x: unknown, what: string) => assert.ok(typeof x === 'number' && Number.isFinite(x) && x > 0, `${what} is a positive number (got ${String(x)})`);

test('bench:compare --quick runs every workload against bare uWS, chatstorm and ws and produces every figure, as JSON, Markdown and a table', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'compare-test-'));
  try {
    const out = path.join(dir, 'compare.json');
    const stdout = await new Promise<string>((resolve, reject) => {
      execFile(process.execPath, ['--import', 'tsx', 'scenarios/runner/bench/bench-compare.ts', '--quick', '--out', out], { cwd: ROOT, timeout: 150_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) =>
        error ? reject(new Error(`bench:compare --quick failed: ${error.message}\n${stderr}`)) : resolve(stdout),
      );
    });
    const r = JSON.parse(readFileSync(out, 'utf8'));
    assert.deepEqual(r.targets, ['bare', 'chatstorm', 'ws']);
    for (const t of r.targets as string[]) {
      for (const f of ['one', 'many']) {
        const w = r.fixed[t][f];
        finite(w.serverCpuMicrosPerDelivery, `${t} fixed ${f}: server CPU per delivery`);
        finite(w.p50Ms, `${t} fixed ${f}: p50`);
        finite(w.p99Ms, `${t} fixed ${f}: p99`);
        finite(w.deliveredShare, `${t} fixed ${f}: delivered share`);
        finite(w.generatorCpuPercent, `${t} fixed ${f}: load side CPU`);
        for (const q of ['serverSendQ', 'serverRecvQ', 'clientRecvQ', 'serverProcessBuffered']) finite(w.maxQueues[q], `${t} fixed ${f}: ${q}`);
        const s = r.sustained[t][f];
        // 0 is a figure too (no step held, e.g. on a loaded machine): produced, whatever its value.
        finite(s.median, `${t} sustained ${f}: median`);
        assert.ok(s.runs[0].steps.length >= 1, `${t} sustained ${f}: at least one step ran`);
        finite(s.min, `${t} sustained ${f}: min`);
        finite(s.max, `${t} sustained ${f}: max`);
      }
      const ov = r.overload[t];
      finite(ov.during.p99Ms, `${t} overload: p99 during`);
      finite(ov.after.p99Ms, `${t} overload: p99 once the grace seconds after it are over`);
      assert.ok(ov.perSecond.length >= 1, `${t} overload: p99 per second after`);
      finite(ov.perSecond[0].p99Ms, `${t} overload: p99 in the first second after`);
      finite(ov.after.maxQueues.serverSendQ, `${t} overload: kernel queue`);
      const c = r.connections[t];
      finite(c.serverCpuMicrosPerHandshake, `${t}: server CPU per handshake`);
      finite(c.rssBytesPerConnection, `${t}: RSS per idle connection`);
      positive(c.tokensPerSecond, `${t}: CreateChatToken/s`);
      assert.equal(c.accepted, c.handshakes, `${t}: every handshake of the storm accepted`);
      finite(r.realistic[t].serverCpuMicrosPerDelivery, `${t} realistic: server CPU per delivery`);
      finite(r.realistic[t].p99Ms, `${t} realistic: p99`);
    }
    // Same frames from all three: the comparison is of servers, not of payloads.
    const frames = (r.targets as string[]).map((t) => r.fixed[t].one.frameBytes as [number, number]);
    for (const [min, max] of frames) assert.ok(min <= frames[0]![1] && max >= frames[0]![0], `MESSAGE frame sizes overlap across targets: ${JSON.stringify(frames)}`);

    const markdown = readFileSync(out.replace(/\.json$/, '.md'), 'utf8');
    for (const measure of ['server CPU per delivery', 'highest sustained rate', 'p99 back under 100 ms', 'after the overload on', 'server CPU per handshake', 'RSS per idle connection', 'CreateChatToken', 'realistic', 'backlog max: in the server process']) {
      assert.ok(markdown.includes(measure), `the Markdown table has a "${measure}" row`);
      assert.ok(stdout.includes(measure), `the printed table has a "${measure}" row`);
    }
    assert.match(stdout, /chatstorm\/bare +ws\/bare/, 'the printed table has the ratio columns');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bench:compare refuses a bad command line in one line naming the flag, exit 2, no stack trace', async () => {
  const cases: [string[], RegExp][] = [
    [['--targets', 'chatstorm'], /^bench:compare: --targets: ratios are to bare/],
    [['--only', 'nope'], /^bench:compare: --only: unknown workload "nope"/],
    [['--hold', 'x'], /^bench:compare: --hold: a positive number, not "x"/],
    [['--bogus'], /^bench:compare: Unknown option '--bogus'/],
  ];
  await Promise.all(
    cases.map(
      ([args, expected]) =>
        new Promise<void>((resolve, reject) => {
          execFile(process.execPath, ['--import', 'tsx', 'scenarios/runner/bench/bench-compare.ts', ...args], { cwd: ROOT, timeout: 30_000 }, (error, _stdout, stderr) => {
            try {
              assert.equal(error?.code, 2, `exit 2 for ${args.join(' ')} (stderr: ${stderr})`);
              assert.match(stderr, expected);
              assert.doesNotMatch(stderr, /\n\s+at /, 'no stack trace');
              resolve();
            } catch (failure) {
              reject(failure);
            }
          });
        }),
    ),
  );
});
