import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { resolveProfile } from '../../lib/profile.ts';
import type { DeliveryLog } from '../../lib/ports.ts';
import { Plan } from '../../lib/schedule.ts';
import { Swarm } from '../../lib/swarm.ts';
import { ChatstormControlPlane } from '../chatstorm-control-plane.ts';
import { planPinning, pinSelf } from '../cpu-pinning.ts';
import { WorkerMetrics } from '../worker-metrics.ts';
import { RawTransport } from '../raw-transport.ts';
import { WsTransport } from '../ws-transport.ts';
import { generatorVsServer, type Shape } from './generator-vs-server.ts';

// `npm run bench:generator`: how much audience one generator core holds and how many frames it
// reads, with the real viewer code (ws, fast-path decode, sequence tracking, HDR latency) against
// a frame source that costs the generator nothing (frame-source.ts, on the other core).
//
//   viewers held   N viewers connected; memory per viewer = (RSS after − RSS before) / N, after GC
//   receive        the source publishes as fast as it can for a few seconds; frames read per
//                  second and per CPU-second of the generator, for 1 frame per publish round
//                  (each socket read carries one frame: bound by syscalls) and 32 per round
//                  (reads carry several frames: bound by parsing)
//   per delivery   generator vs server (generator-vs-server.ts): chatstorm on the server core, real
//                  chatters and viewers (raw transport) here; generator and server µs of CPU per
//                  delivery and their ratio, counting mode and full decode, for the fan-out shape
//                  (one room, many frames per socket read) and the spread shape (many rooms at a
//                  low rate: one frame per socket read) and one room at one frame per read
//                  (10 chatters at 8 msg/s: the capacity profile's viewer steps). --no-ratio
//                  skips it.

const { values } = parseArgs({
  options: {
    viewers: { type: 'string', default: '10000' },
    seconds: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '1,32' },
    out: { type: 'string' },
    transport: { type: 'string', default: 'ws' },
    'no-ratio': { type: 'boolean', default: false },
    'ratio-seconds': { type: 'string', default: '6' },
    'decode-every': { type: 'string', default: '16' },
    'fanout-viewers': { type: 'string', default: '2000' },
    'fanout-chatters': { type: 'string', default: '10' },
    'fanout-rate': { type: 'string', default: '40' },
    'spread-rooms': { type: 'string', default: '100' },
    'spread-viewers': { type: 'string', default: '10000' },
    'spread-rate': { type: 'string', default: '2' },
    'room-viewers': { type: 'string', default: '2000' },
    'room-rate': { type: 'string', default: '8' },
  },
});
const TRANSPORT = values.transport === 'raw' ? 'raw' : 'ws';
const VIEWERS = Number(values.viewers);
const SECONDS = Number(values.seconds);
const ROUNDS = values.rounds!.split(',').map(Number);
const gc = (globalThis as { gc?: () => void }).gc;

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(50);
  }
}

async function startSource(cores: string | undefined): Promise<{ url: string; stop: () => void }> {
  const entry = fileURLToPath(new URL('./frame-source.ts', import.meta.url));
  const args = ['--import', 'tsx', entry];
  const child = cores ? spawn('taskset', ['-c', cores, process.execPath, ...args], { stdio: ['ignore', 'pipe', 'inherit'] }) : spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    createInterface({ input: child.stdout! }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`frame source exited with ${code}`)));
  });
  return { url: (JSON.parse(line) as { url: string }).url, stop: () => child.kill('SIGTERM') };
}

function settleMemory(): NodeJS.MemoryUsage {
  gc?.();
  gc?.();
  return process.memoryUsage();
}

const pinning = planPinning();
const source = await startSource(pinning?.serverCores);
if (pinning) pinSelf(pinning.generatorCores);
const cores = pinning ? pinning.generatorCores : 'all';
process.stderr.write(`frame source at ${source.url}; generator on core(s) ${cores}${gc ? '' : ' (run with --expose-gc for exact memory figures)'}\n`);

const profile = resolveProfile(
  { name: 'generator-bench', description: 'generator benchmark' },
  { viewers: VIEWERS, rooms: 1, chattersPerRoom: 1, rate: 0, duration: '1h', rampUp: '0s', drain: '0s', thresholds: [] },
);
const metrics = new WorkerMetrics();
const discard: DeliveryLog = { sent() {}, resolved() {}, closed() {} };
const control = new ChatstormControlPlane(source.url);
const room = await control.createRoom('bench', 1000);

const before = settleMemory();
const swarm = new Swarm({
  plan: new Plan(profile),
  slice: { index: 0, count: 1 },
  rooms: [room],
  wsUrl: source.url.replace('http', 'ws') + '/',
  startAt: now(),
  clock: { now },
  ticker: { every: (ms, fn) => setInterval(fn, ms), cancel: (h) => clearInterval(h as NodeJS.Timeout) },
  transport: TRANSPORT === 'raw' ? new RawTransport() : new WsTransport(),
  control,
  metrics,
  log: discard,
  maxConnecting: 200,
});
const connectStarted = performance.now();
swarm.start();
await waitFor(`${VIEWERS} viewers`, () => swarm.connected >= VIEWERS, 180_000);
const connectSeconds = (performance.now() - connectStarted) / 1000;
await sleep(2000);
const held = settleMemory();
const idleCpuStart = process.cpuUsage();
await sleep(2000);
const idleCpu = process.cpuUsage(idleCpuStart);

// Everything the process grew by, fixed costs (HTTP pool, young generation) included: the
// conservative figure. The JS heap part alone is the deterministic one.
const rssPerViewer = (held.rss - before.rss) / VIEWERS;
const heapPerViewer = (held.heapUsed - before.heapUsed) / VIEWERS;

interface ReceiveRun {
  framesPerRound: number;
  seconds: number;
  framesPerSecond: number;
  framesPerCpuSecond: number;
  cpuPercent: number;
  userPercent: number;
  systemPercent: number;
  latencyP99Ms: number;
}
const receive: ReceiveRun[] = [];
for (const framesPerRound of ROUNDS) {
  metrics.take();
  metrics.latency.take();
  const cpu = process.cpuUsage();
  const started = performance.now();
  await fetch(`${source.url}/blast`, { method: 'POST', body: JSON.stringify({ seconds: SECONDS, framesPerRound }) });
  await sleep(SECONDS * 1000);
  const wall = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  const frames = metrics.take().frames;
  const latency = metrics.latency.take();
  const cpuSeconds = (used.user + used.system) / 1e6;
  const { decodeHistogram } = await import('../latency-recorder.ts');
  const h = decodeHistogram(latency.hdr);
  receive.push({
    framesPerRound,
    seconds: wall,
    framesPerSecond: frames / wall,
    framesPerCpuSecond: frames / Math.max(0.001, cpuSeconds),
    cpuPercent: (cpuSeconds / wall) * 100,
    userPercent: (used.user / 1e6 / wall) * 100,
    systemPercent: (used.system / 1e6 / wall) * 100,
    latencyP99Ms: h ? h.getValueAtPercentile(99) / 1000 : 0,
  });
  await sleep(1500);
}

swarm.abort();
await Promise.race([swarm.finished, sleep(15_000)]);
control.close();
source.stop();

const positive = (name: keyof typeof values): number => {
  const n = Number(values[name]);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: a positive number, not "${String(values[name])}"`);
  return n;
};
const shapes: Shape[] = [
  { name: 'fan-out', rooms: 1, viewers: positive('fanout-viewers'), chattersPerRoom: positive('fanout-chatters'), rate: positive('fanout-rate') },
  { name: 'one frame per read', rooms: positive('spread-rooms'), viewers: positive('spread-viewers'), chattersPerRoom: 1, rate: positive('spread-rate') },
  // One room whose 10 chatters' messages are spread over time, so each reaches each socket in a
  // read of its own: the capacity profile's viewer steps (--set stepBy=viewers). The generator
  // still costs more per delivery than the server here (the per-read cost), which is why counting
  // mode's capacity steps the rate over a fixed audience: that is the fan-out shape above.
  { name: 'one frame per read, one room', rooms: 1, viewers: positive('room-viewers'), chattersPerRoom: 10, rate: positive('room-rate') },
];
if (!values['no-ratio']) process.stderr.write('generator vs server, per delivery (chatstorm --bench on the server core):\n');
const perDelivery = values['no-ratio']
  ? []
  : await generatorVsServer(shapes, positive('ratio-seconds'), positive('decode-every'), pinning?.serverCores, (line) => process.stderr.write(`${line}\n`));

const result = {
  benchmark: 'generator',
  at: new Date().toISOString(),
  node: process.version,
  generatorCores: cores,
  transport: TRANSPORT,
  viewers: VIEWERS,
  connectSeconds,
  idleCpuPercent: ((idleCpu.user + idleCpu.system) / 1e6 / 2) * 100,
  memory: { rssBytesPerViewer: rssPerViewer, heapBytesPerViewer: heapPerViewer, rssBefore: before.rss, rssHeld: held.rss, exact: Boolean(gc) },
  receive,
  perDelivery,
  targets: { viewersPerCore: 10_000, bytesPerViewer: 10 * 1024, framesPerSecond: 200_000 },
};

const kb = (b: number) => `${(b / 1024).toFixed(1)} KB`;
const n = (x: number) => Math.round(x).toLocaleString('en-US');
const rows: [string, string, string][] = [
  ['viewers held on one core', n(VIEWERS), '≥ 10,000'],
  ['memory per viewer (process RSS growth)', kb(rssPerViewer), '≤ 10 KB'],
  ['  of which JS heap', kb(heapPerViewer), ''],
  ['connect time for all', `${connectSeconds.toFixed(1)} s`, ''],
  ['CPU holding them idle', `${result.idleCpuPercent.toFixed(1)} %`, ''],
];
for (const r of receive) {
  rows.push([`frames/s, ${r.framesPerRound} per publish round${r.framesPerRound === 1 ? ' (1 frame per read)' : ''}`, n(r.framesPerSecond), '≥ 200,000']);
  rows.push([`  per CPU-second (user ${r.userPercent.toFixed(0)} %, sys ${r.systemPercent.toFixed(0)} %)`, n(r.framesPerCpuSecond), '']);
}
for (const s of perDelivery) {
  for (const m of s.modes) {
    const label = m.mode === 'count' ? `counting, 1 in ${m.decodeEvery} decoded` : 'full decode';
    rows.push([`${s.name} (${n(s.viewers)} viewers, ${n(m.deliveriesPerSecond)} deliveries/s), ${label}`, '', '']);
    rows.push([`  generator µs CPU per delivery (${m.generatorCpuPercent.toFixed(0)} % CPU)`, m.generatorMicrosPerDelivery.toFixed(2), '']);
    rows.push([`  server µs CPU per delivery (${m.serverCpuPercent.toFixed(0)} % CPU)`, m.serverMicrosPerDelivery.toFixed(2), '']);
    rows.push(['  generator ÷ server', `${m.ratio.toFixed(2)}×`, m.mode === 'count' ? '≤ 1×' : '']);
  }
}
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
process.stdout.write(`\ngenerator benchmark — Node ${process.version}, ${TRANSPORT} transport, generator on core(s) ${cores}\n`);
process.stdout.write(`  ${'measure'.padEnd(w0)}  ${'value'.padStart(w1)}  target\n`);
for (const [a, b, c] of rows) process.stdout.write(`  ${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}\n`);
const file = values.out ?? path.join('results', `generator-bench-${result.at.replace(/[:.]/g, '-')}.json`);
mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`  results  ${file}\n`);
process.exit(0);
