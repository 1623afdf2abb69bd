import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildK6 } from '../../k6/build.ts';
import type { RunResult } from '../../lib/results.ts';
import { findK6, runK6 } from '../../test/support/real-k6.ts';
import { startEmbeddedServer } from '../embedded-server.ts';

// `npm run bench:k6-sizing`: how big an audience real k6 holds per VU and per core, beside the
// Node runner on the same profile and size, in one run. The server gets core 0; the generator
// under test (k6 with GOMAXPROCS=1, or the Node runner with one worker) gets core 1.
//
//   sweep     the fanout profile at --viewers, for each --per-vu: k6's peak RSS, CPU, event-loop
//             lag p50/p99 (lib/lag-probe.ts), delivery p99 and whether the run was generator-bound
//   audience  --steps audiences at the sweet spot (the cheapest VIEWERS_PER_VU in CPU per delivery
//             among the runs that were not generator-bound), k6 and the Node runner back to back;
//             the largest audience k6 holds on one core with its lag under the bound
//
// Memory: peak RSS / viewers (fixed costs included), and across the audience steps the marginal
// RSS per added viewer. CPU: user+system time of the process in the steady part of the load (from
// the end of the ramp + 2 s to the end of the load, so start-up, setup and drain are left out), as
// % of one core and in µs per delivered frame (deliveries per second taken as the run's frames
// over its load phase minus half the ramp: approximate). "viewers/core by CPU" is the peak audience
// divided by the CPU it cost: what one core could hold if CPU were the only limit. On a shared
// machine lag measures the neighbours as much as k6, while CPU time is charged only when k6 runs,
// so that column is the steadier of the two.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

const { values } = parseArgs({
  options: {
    viewers: { type: 'string', default: '400' },
    'per-vu': { type: 'string', default: '50,100,200,400' },
    steps: { type: 'string', default: '100,200,400,800' },
    duration: { type: 'string', default: '20s' },
    'ramp-up': { type: 'string', default: '5s' },
    'lag-bound': { type: 'string', default: '100ms' },
    out: { type: 'string', default: 'results/k6-sizing.json' },
  },
});

interface Reading {
  at: number;
  cpuSeconds: number;
}

interface Sample {
  readings: Reading[];
  peakRssMB: number;
}

/** Samples a process's CPU time and RSS from /proc until it exits. */
function watch(pid: number): () => Sample {
  const ticks = 100; // USER_HZ on Linux
  const readings: Reading[] = [];
  let peak = 0;
  const read = () => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      readings.push({ at: Date.now(), cpuSeconds: (Number(fields[11]) + Number(fields[12])) / ticks });
      const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
      if (rss) peak = Math.max(peak, Number(rss[1]) / 1024);
    } catch {
      // the process has exited
    }
  };
  read();
  const timer = setInterval(read, 250);
  return () => {
    clearInterval(timer);
    return { readings, peakRssMB: peak };
  };
}

/** CPU seconds per second between two moments (the readings nearest inside them). */
function cpuRate(readings: Reading[], from: number, to: number): number {
  const inside = readings.filter((r) => r.at >= from && r.at <= to);
  if (inside.length < 2) return 0;
  const a = inside[0]!;
  const b = inside[inside.length - 1]!;
  return (b.cpuSeconds - a.cpuSeconds) / ((b.at - a.at) / 1000);
}

function seconds(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)$/.exec(d);
  if (!m) throw new Error(`not a duration: ${d}`);
  return Number(m[1]) * (m[2] === 'ms' ? 0.001 : m[2] === 'm' ? 60 : 1);
}

interface Row {
  engine: 'k6' | 'node';
  viewers: number;
  viewersPerVu: number | null;
  vus: number | null;
  exitCode: number | null;
  verdict: string;
  peakViewers: number;
  peakRssMB: number;
  rssPerViewerKB: number;
  cpuPercent: number;
  cpuMicrosPerDelivery: number;
  deliveries: number;
  missing: number;
  latencyP99Ms: number;
  /** One core's worth of CPU divided by this run's CPU per viewer: the audience the CPU cost alone allows. */
  viewersPerCore: number;
  lagP50Ms: number | null;
  lagP99Ms: number;
  generatorBound: boolean;
}

function row(engine: Row['engine'], viewers: number, viewersPerVu: number | null, code: number | null, s: Sample, r: RunResult, loadStart: number): Row {
  const bound = engine === 'k6' ? r.verdict === 'generator-bound' : r.generator.bottleneck;
  const ramp = seconds(values['ramp-up']);
  const load = seconds(values.duration);
  const cpu = cpuRate(s.readings, loadStart + (ramp + 2) * 1000, loadStart + load * 1000);
  const deliveriesPerSecond = r.deliveries.frames / Math.max(1, load - ramp / 2);
  return {
    engine,
    viewers,
    viewersPerVu,
    vus: viewersPerVu ? Math.ceil(viewers / viewersPerVu) : null,
    exitCode: code,
    verdict: engine === 'k6' ? (r.verdict ?? '?') : bound ? 'generator-bound' : r.passed ? 'passed' : 'failed',
    peakViewers: r.viewers.peak,
    peakRssMB: s.peakRssMB,
    rssPerViewerKB: (s.peakRssMB * 1024) / viewers,
    cpuPercent: 100 * cpu,
    cpuMicrosPerDelivery: deliveriesPerSecond > 0 ? (1e6 * cpu) / deliveriesPerSecond : 0,
    deliveries: r.deliveries.frames,
    missing: r.deliveries.missing,
    latencyP99Ms: r.latencyMs.p99,
    viewersPerCore: cpu > 0 ? r.viewers.peak / cpu : 0,
    lagP50Ms: r.generator.lagMs?.p50 ?? null,
    lagP99Ms: r.generator.lagMs?.p99 ?? r.generator.eventLoopDelayP99Ms,
    generatorBound: bound,
  };
}

const k6 = findK6();
if (!k6.found) {
  process.stderr.write(`bench:k6-sizing needs k6: ${k6.reason} (set K6_BIN)\n`);
  process.exit(2);
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'chatstorm-k6-sizing-'));
const server = await startEmbeddedServer({ cores: '0' });
const say = (line: string) => process.stdout.write(`${line}\n`);
const shape = (viewers: number) => `viewers=${viewers};duration=${values.duration};rampUp=${values['ramp-up']};drain=2s`;

async function k6Run(viewers: number, perVu: number): Promise<Row> {
  const out = path.join(dir, `k6-${viewers}-${perVu}.json`);
  let stop: (() => Sample) | undefined;
  const run = await runK6(k6.found!, {
    script: path.join(dir, 'dist', 'k6-legacy', 'fanout.js'),
    env: { CHATSTORM_URL: server.url, CHATSTORM_OUT: out, CHATSTORM_SET: shape(viewers), VIEWERS_PER_VU: String(perVu), CHATSTORM_LAG_BOUND: values['lag-bound'] },
    processEnv: { GOMAXPROCS: '1' },
    cpus: '1',
    cwd: dir,
    timeoutMs: 300_000,
    onStart: (pid) => (stop = watch(pid)),
  });
  const sample = stop!();
  const r = JSON.parse(readFileSync(out, 'utf8')) as RunResult;
  // k6's startedAt is the start of the test; its load starts after setup plus the 1 s lead.
  return row('k6', viewers, perVu, run.code, sample, r, Date.parse(r.startedAt) + 2000);
}

async function nodeRun(viewers: number): Promise<Row> {
  const out = path.join(dir, `node-${viewers}.json`);
  const args = ['-c', '1', process.execPath, '--import', 'tsx', 'scenarios/runner/cli.ts', '--profile', 'fanout', '--url', server.url, '--viewers', String(viewers),
    '--duration', values.duration, '--ramp-up', values['ramp-up'], '--drain', '2s', '--workers', '1', '--no-pin', '--no-progress', '--out', out];
  const child = spawn('taskset', args, { cwd: ROOT, stdio: 'ignore' });
  const stop = watch(child.pid!);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  const r = JSON.parse(readFileSync(out, 'utf8')) as RunResult;
  return row('node', viewers, null, code, stop(), r, Date.parse(r.startedAt));
}

function table(rows: Row[]): string {
  const head = '| engine | viewers | per VU | VUs | RSS MB | KB/viewer | CPU % of 1 core | CPU µs/delivery | viewers/core by CPU | deliveries | lag p50 / p99 ms | latency p99 ms | verdict |';
  const lines = [head, '|---|---|---|---|---|---|---|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(
      `| ${r.engine} | ${r.viewers} (peak ${r.peakViewers}) | ${r.viewersPerVu ?? '–'} | ${r.vus ?? '–'} | ${r.peakRssMB.toFixed(0)} | ${r.rssPerViewerKB.toFixed(0)} | ${r.cpuPercent.toFixed(0)} | ${r.cpuMicrosPerDelivery.toFixed(0)} | ${r.viewersPerCore.toFixed(0)} | ${r.deliveries} | ${r.lagP50Ms === null ? '–' : r.lagP50Ms.toFixed(0)} / ${r.lagP99Ms.toFixed(0)} | ${r.latencyP99Ms.toFixed(0)} | ${r.verdict} (exit ${r.exitCode}) |`,
    );
  }
  return lines.join('\n');
}

try {
  mkdirSync(path.join(dir, 'dist'));
  await buildK6(path.join(dir, 'dist'));
  say(`k6 sizing: ${k6.found.version} (${k6.found.source}); server on core 0, generator on core 1; fanout profile, ${values.duration} load; lag bound ${values['lag-bound']}`);
  say('figures from one run on this machine; a shared machine makes them provisional');

  const sweep: Row[] = [];
  for (const perVu of values['per-vu'].split(',').map(Number)) {
    sweep.push(await k6Run(Number(values.viewers), perVu));
    say(table(sweep.slice(-1)).split('\n')[2]!);
  }
  const good = sweep.filter((r) => !r.generatorBound && r.deliveries > 0);
  const sweet = (good.length ? good : sweep).reduce((a, b) => (b.cpuMicrosPerDelivery < a.cpuMicrosPerDelivery ? b : a));
  say(`sweet spot: VIEWERS_PER_VU=${sweet.viewersPerVu} (${sweet.cpuMicrosPerDelivery.toFixed(0)} µs CPU per delivery${good.length ? '' : '; every run was generator-bound'})`);

  const audience: Row[] = [];
  let largest: number | null = null;
  for (const viewers of values.steps.split(',').map(Number)) {
    const k = await k6Run(viewers, sweet.viewersPerVu!);
    const n = await nodeRun(viewers);
    audience.push(k, n);
    say(table([k, n]).split('\n').slice(2).join('\n'));
    if (k.generatorBound) break;
    largest = viewers;
  }
  say('\nVIEWERS_PER_VU sweep (k6 on one core)');
  say(table(sweep));
  say('\naudience steps at the sweet spot, k6 and the Node runner (one worker) on the same core');
  say(table(audience));
  say(`\nlargest audience one k6 core held with lag p99 under ${values['lag-bound']}: ${largest ?? 'none of the steps'}`);
  const marginal: Record<string, number | null> = {};
  for (const engine of ['k6', 'node'] as const) {
    const runs = audience.filter((r) => r.engine === engine);
    const [a, b] = [runs[0], runs[runs.length - 1]];
    marginal[engine] = a && b && b.peakViewers > a.peakViewers ? ((b.peakRssMB - a.peakRssMB) * 1024) / (b.peakViewers - a.peakViewers) : null;
    say(`${engine}: RSS per added viewer across the steps ${marginal[engine] === null ? 'n/a' : `${marginal[engine]!.toFixed(1)} KB`}`);
  }
  const file = path.resolve(ROOT, values.out);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(
    file,
    `${JSON.stringify({ k6: k6.found.version, viewers: Number(values.viewers), duration: values.duration, lagBound: values['lag-bound'], sweep, sweetSpot: sweet.viewersPerVu, audience, largestK6Audience: largest, rssPerAddedViewerKB: marginal, machine: { cores: os.availableParallelism(), loadAverage: os.loadavg() } }, null, 2)}\n`,
  );
  say(`results: ${path.relative(ROOT, file)}`);
} finally {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
}
