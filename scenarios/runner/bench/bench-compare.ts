import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { planPinning, pinSelf } from '../cpu-pinning.ts';
import { runConnections, type ConnectionsResult } from './compare/connections.ts';
import { Audience, type SecondSample, type WindowResult } from './compare/load.ts';
import { renderReport, type CompareResult } from './compare/report.ts';
import { searchSustained, type SearchResult } from './compare/sustained.ts';
import { startTarget, TARGETS, type Target, type TargetName } from './compare/targets.ts';

// `npm run bench:compare`: chatstorm as shipped against a bare uWebSockets.js publish server (the
// ceiling: same topics, same frame bytes, nothing else) and the same protocol on `ws`, in one
// run, each target a fresh process on the server core and the load on the other. Prints a table
// of ratios to bare (and the absolute figures, which depend on the machine) and writes JSON and
// Markdown. `--quick` runs every workload at tiny sizes in seconds (CI: every figure produced).
//
// Workloads (--only, comma-separated):
//   fixed        one room × --viewers and --rooms × --room-viewers at --fixed-rate deliveries/s
//   sustained    the highest rate held --hold seconds, both fan-outs, --repeats alternating repeats
//   overload     2× the sustained rate (one room) for --overload-seconds, then half of it: p99 per second
//   connections  CreateChatToken/s, a handshake storm (CPU per handshake), --connections idle (RSS each)
//   realistic    --realistic-viewers in --realistic-rooms at --realistic-rate messages/s per room

const WORKLOADS = ['fixed', 'sustained', 'overload', 'connections', 'realistic'] as const;
type Workload = (typeof WORKLOADS)[number];
/** A command-line mistake: said in one line, exit 2, no stack trace. */
function usage(message: string): never {
  process.stderr.write(`bench:compare: ${message}\n`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      only: { type: 'string' },
      targets: { type: 'string', default: TARGETS.join(',') },
      viewers: { type: 'string' },
      rooms: { type: 'string' },
      'room-viewers': { type: 'string' },
      'fixed-rate': { type: 'string' },
      hold: { type: 'string' },
      repeats: { type: 'string' },
      'search-start': { type: 'string' },
      'search-steps': { type: 'string' },
      'overload-seconds': { type: 'string' },
      'recovery-seconds': { type: 'string' },
      connections: { type: 'string' },
      'handshake-rate': { type: 'string' },
      'realistic-viewers': { type: 'string' },
      'realistic-rooms': { type: 'string' },
      'realistic-rate': { type: 'string' },
      'receiver-threads': { type: 'string', default: '1' },
      'probe-every': { type: 'string' },
      'cpu-prof': { type: 'boolean', default: false },
      // Extra chatstorm flags, space-separated, given with "=": e.g. --chatstorm-args="--persist-used-tokens false"
      // shows what the used-token log costs a handshake.
      'chatstorm-args': { type: 'string' },
      out: { type: 'string' },
    },
  });
} catch (error) {
  usage((error as Error).message);
}
const { values } = parsed;
const quick = values.quick!;
const num = (name: keyof typeof values, full: number, small: number): number => {
  const v = values[name];
  const n = v === undefined ? (quick ? small : full) : Number(v);
  if (!Number.isFinite(n) || n <= 0) usage(`--${name}: a positive number, not "${v}"`);
  return n;
};
const o = {
  viewers: num('viewers', 2000, 40),
  rooms: num('rooms', 50, 4),
  roomViewers: num('room-viewers', 40, 10),
  fixedRate: num('fixed-rate', 500_000, 4000),
  hold: num('hold', 10, 0.5),
  repeats: num('repeats', 3, 1),
  searchStart: num('search-start', 1_000_000, 4000),
  searchSteps: num('search-steps', 6, 1),
  overloadSeconds: num('overload-seconds', 10, 0.5),
  recoverySeconds: num('recovery-seconds', 10, 3),
  connections: num('connections', 10_000, 100),
  handshakeRate: num('handshake-rate', 2000, 200),
  realisticViewers: num('realistic-viewers', 16_000, 80),
  realisticRooms: num('realistic-rooms', 4, 2),
  realisticRate: num('realistic-rate', 20, 20),
  threads: num('receiver-threads', 1, 1),
  probeEvery: num('probe-every', 16, 1),
};
const workloads = new Set((values.only ?? WORKLOADS.join(',')).split(',')) as Set<Workload>;
for (const w of workloads) if (!WORKLOADS.includes(w)) usage(`--only: unknown workload "${w}" (one or more of ${WORKLOADS.join(', ')})`);
const targets = values.targets!.split(',') as TargetName[];
for (const t of targets) if (!TARGETS.includes(t)) usage(`--targets: unknown target "${t}" (one or more of ${TARGETS.join(', ')})`);
if (!targets.includes('bare')) usage('--targets: ratios are to bare, so bare is always one of them');

const progress = (line: string) => process.stderr.write(`${line}\n`);
// Read before pinning: afterwards this process sees only its own cores.
const machine = { cpu: os.cpus()[0]?.model ?? 'unknown', cores: os.cpus().length, memoryGiB: Math.round(os.totalmem() / 2 ** 30), node: process.version, kernel: os.release(), loadAverage: os.loadavg() };
const pinning = planPinning();
if (pinning) pinSelf(pinning.generatorCores);
const at = new Date().toISOString();
const profileDir = path.resolve('results', 'cpu-profiles', `compare-${at.replace(/[:.]/g, '-')}`);
if (values['cpu-prof']) mkdirSync(profileDir, { recursive: true });

async function session<T>(name: TargetName, label: string, run: (target: Target) => Promise<T>): Promise<T> {
  progress(`${name}: ${label}`);
  const target = await startTarget(name, {
    cores: pinning?.serverCores,
    nodeOptions: values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.join(profileDir, `${name}-${label.replace(/\W+/g, '-')}`)] : [],
    chatstormArgs: values['chatstorm-args']?.split(' ').filter(Boolean),
  });
  try {
    return await run(target);
  } finally {
    await target.stop();
  }
}

async function withAudience<T>(target: Target, rooms: number, perRoom: number, run: (a: Audience) => Promise<T>): Promise<T> {
  // A socket lost while connecting (seen rarely, as a 1006 right after the 101 on a cold server)
  // would skew every delivered share: connect the audience again, twice at most.
  for (let attempt = 1; ; attempt++) {
    const audience = new Audience(target, o.threads);
    try {
      const open = await audience.connect(rooms, perRoom, o.probeEvery);
      if (open < rooms * perRoom) {
        const lost = await audience.take();
        const why = `${target.name}: only ${open} of ${rooms * perRoom} viewers connected (refused ${lost.failed}, closed ${JSON.stringify(lost.closed)})`;
        if (attempt === 3) throw new Error(why);
        progress(`  ${why}; connecting again`);
        continue;
      }
      return await run(audience);
    } finally {
      await audience.close();
    }
  }
}

const FANOUTS = {
  one: { rooms: 1, perRoom: o.viewers, label: `1 room × ${o.viewers}` },
  many: { rooms: o.rooms, perRoom: o.roomViewers, label: `${o.rooms} rooms × ${o.roomViewers}` },
} as const;
type Fanout = keyof typeof FANOUTS;

const fixed: Partial<Record<TargetName, Record<Fanout, WindowResult>>> = {};
const realistic: Partial<Record<TargetName, WindowResult>> = {};
const sustained: Partial<Record<TargetName, Record<Fanout, SearchResult[]>>> = {};
const connections: Partial<Record<TargetName, ConnectionsResult>> = {};
const overload: Partial<Record<TargetName, { base: number; during: WindowResult; after: WindowResult; perSecond: SecondSample[]; recoveredAfterSeconds: number | null; graceSeconds: number }>> = {};

const describe = (w: WindowResult) =>
  `${Math.round(w.deliveriesPerSecond).toLocaleString('en-US')} deliveries/s (${(w.deliveredShare * 100).toFixed(1)} %), p50 ${w.p50Ms.toFixed(1)} ms p99 ${w.p99Ms.toFixed(1)} ms, server ${w.serverCpuPercent.toFixed(0)} % (${w.serverCpuMicrosPerDelivery.toFixed(3)} µs/delivery), load side ${w.generatorCpuPercent.toFixed(0)} %`;

const warmUpSeconds = quick ? 0 : 2;
const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? (s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2) : NaN;
};

async function runFixed(name: TargetName, target: Target): Promise<void> {
  const out = {} as Record<Fanout, WindowResult>;
  for (const f of ['one', 'many'] as Fanout[]) {
    const { rooms, perRoom, label } = FANOUTS[f];
    out[f] = await withAudience(target, rooms, perRoom, async (a) => {
      // Warm-up (JIT on the server's one core), not reported.
      if (warmUpSeconds) await a.window(o.fixedRate / perRoom / 4, warmUpSeconds);
      return a.window(o.fixedRate / perRoom, o.hold);
    });
    progress(`  fixed ${label}: ${describe(out[f])}`);
  }
  fixed[name] = out;
}

async function runRealistic(name: TargetName, target: Target): Promise<void> {
  realistic[name] = await withAudience(target, o.realisticRooms, Math.round(o.realisticViewers / o.realisticRooms), async (a) => {
    if (warmUpSeconds) await a.window(o.realisticRate * o.realisticRooms, warmUpSeconds);
    return a.window(o.realisticRate * o.realisticRooms, o.hold);
  });
  progress(`  realistic: ${describe(realistic[name]!)}`);
}

async function runSustained(name: TargetName, target: Target, repeat: number): Promise<void> {
  const out = (sustained[name] ??= { one: [], many: [] });
  for (const f of ['one', 'many'] as Fanout[]) {
    const { rooms, perRoom, label } = FANOUTS[f];
    progress(`  sustained ${label}, repeat ${repeat + 1}/${o.repeats}`);
    let audience: Audience | undefined;
    const previous = out[f].at(-1)?.sustained;
    try {
      const result = await searchSustained({
        start: previous || (name === 'ws' ? o.searchStart / 10 : o.searchStart),
        steps: o.searchSteps,
        holdSeconds: o.hold,
        progress: (line) => progress(`  ${line}`),
        ready: async (fresh) => {
          if (audience && !fresh) return audience;
          await audience?.close();
          audience = new Audience(target, o.threads);
          await audience.connect(rooms, perRoom, o.probeEvery);
          if (warmUpSeconds) await audience.window(o.searchStart / perRoom / 8, 1);
          return audience;
        },
      });
      out[f].push(result);
    } finally {
      await audience?.close();
    }
  }
}

async function runConnectionStorm(name: TargetName, target: Target): Promise<void> {
  const c = (connections[name] = await runConnections(target, { connections: o.connections, rate: o.handshakeRate, settleMs: quick ? 200 : 2000, idleMs: quick ? 300 : 2000 }));
  progress(
    `  tokens ${Math.round(c.tokensPerSecond)}/s (${c.serverCpuMicrosPerToken.toFixed(0)} µs each), handshakes ${c.accepted}/${c.handshakes} p99 ${c.handshakeP99Ms.toFixed(1)} ms, ${c.serverCpuMicrosPerHandshake.toFixed(0)} µs each, RSS ${(c.rssBytesPerConnection / 1024).toFixed(2)} KiB per idle connection`,
  );
}

async function runOverload(name: TargetName, target: Target): Promise<void> {
  const found = sustained[name]?.one.map((s) => s.sustained).filter((x) => x > 0) ?? [];
  const base = found.length ? median(found) : o.fixedRate;
  const ov = (overload[name] = await withAudience(target, 1, o.viewers, async (a) => {
    if (warmUpSeconds) await a.window(base / o.viewers / 4, warmUpSeconds);
    const perSecond: SecondSample[] = [];
    const during = await a.window((2 * base) / o.viewers, o.overloadSeconds, { drainMs: 0 });
    // The target is p99 under 100 ms within 5 s: the recovery is measured in two windows, the
    // first 5 s (backlog included) and the rest, whose p99 is the figure the target reads.
    const grace = Math.min(5, o.recoverySeconds / 2);
    await a.window(base / 2 / o.viewers, grace, { drainMs: 0, onSecond: (s) => perSecond.push(s) });
    const after = await a.window(base / 2 / o.viewers, o.recoverySeconds - grace, { onSecond: (s) => perSecond.push({ ...s, second: s.second + grace }) });
    // The first second from which every later one had p99 under 100 ms (a second with no probe
    // frame counts as not recovered).
    let recovered: number | null = null;
    for (let i = perSecond.length - 1; i >= 0 && perSecond[i]!.p99Ms < 100; i--) recovered = perSecond[i]!.second - 1;
    return { base, during, after, perSecond, recoveredAfterSeconds: recovered, graceSeconds: grace };
  }));
  progress(
    `  overload at ${Math.round(2 * base).toLocaleString('en-US')}/s: ${describe(ov.during)}; after: p99 by second ${ov.perSecond.map((s) => s.p99Ms.toFixed(0)).join(' ')} ms, viewers cut ${ov.after.viewersCut}`,
  );
}

if (quick) {
  // Seconds-long: one server per target runs every workload.
  for (const name of targets) {
    await session(name, 'all', async (target) => {
      if (workloads.has('fixed')) await runFixed(name, target);
      if (workloads.has('realistic')) await runRealistic(name, target);
      if (workloads.has('sustained')) await runSustained(name, target, 0);
      if (workloads.has('connections')) await runConnectionStorm(name, target);
      if (workloads.has('overload')) await runOverload(name, target);
    });
  }
} else {
  // A fresh server for each workload; the sustained repeats alternate the order of the targets,
  // so drift on a shared machine falls on all of them alike.
  for (const name of targets) {
    if (workloads.has('fixed')) await session(name, 'fixed', (target) => runFixed(name, target));
    if (workloads.has('realistic')) await session(name, 'realistic', (target) => runRealistic(name, target));
  }
  if (workloads.has('sustained')) {
    for (let r = 0; r < o.repeats; r++) {
      for (const name of targets.map((_, i) => targets[(i + r) % targets.length]!)) await session(name, `sustained-${r + 1}`, (target) => runSustained(name, target, r));
    }
  }
  for (const name of targets) {
    if (workloads.has('connections')) await session(name, 'connections', (target) => runConnectionStorm(name, target));
    if (workloads.has('overload')) await session(name, 'overload', (target) => runOverload(name, target));
  }
}

const result: CompareResult = {
  benchmark: 'compare',
  at,
  command: `npm run bench:compare -- ${process.argv.slice(2).join(' ')}`.trim(),
  machine: { ...machine, loadAverageAtEnd: os.loadavg() },
  pinning: pinning ?? 'none',
  quick,
  options: o,
  targets,
  fixed,
  realistic,
  sustained: Object.fromEntries(
    Object.entries(sustained).map(([name, byFanout]) => [
      name,
      Object.fromEntries(
        Object.entries(byFanout).map(([f, runs]) => {
          const rates = runs.map((r) => r.sustained);
          return [f, { median: median(rates), min: Math.min(...rates), max: Math.max(...rates), runs }];
        }),
      ),
    ]),
  ),
  connections,
  overload,
};
const file = values.out ?? path.join('results', `compare-bench-${at.replace(/[:.]/g, '-')}.json`);
const { text, markdown } = renderReport(result);
process.stdout.write(`\n${text}\n`);
mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
writeFileSync(file.replace(/\.json$/, '') + '.md', markdown);
process.stdout.write(`  results  ${file} (and .md)\n`);
if (values['cpu-prof']) process.stdout.write(`  server CPU profiles  ${profileDir} (summarise: node --import tsx scenarios/runner/bench/compare/profile-top.ts <file.cpuprofile>)\n`);
process.exit(0);
