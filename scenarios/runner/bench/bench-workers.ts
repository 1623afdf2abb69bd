import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { RunResult } from '../../lib/results.ts';

// `npm run bench:workers`: deliveries/s of one chatstorm process against `--workers 2` on this
// machine, under the same load from the Node runner, as a ratio; and what the backplane costs per
// delivered message: server CPU µs (every worker) and Redis CPU µs (INFO CPU).
//
// Both servers get the same --redis-url (a redis-server started here, or yours). Until the Redis
// store and cross-node bus are merged, workers do not share rooms or fan-out: a viewer whose
// handshake lands on another worker than the one that created its room is refused, and the
// figures for --workers 2 say so rather than measure the backplane.

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const { values } = parseArgs({
  options: {
    'redis-url': { type: 'string' },
    viewers: { type: 'string', default: '1000' },
    rooms: { type: 'string', default: '1' },
    chatters: { type: 'string', default: '5' },
    rate: { type: 'string', default: '10' },
    duration: { type: 'string', default: '10s' },
    workers: { type: 'string', default: '2' },
    out: { type: 'string' },
    help: { type: 'boolean' },
  },
});
if (values.help) {
  process.stdout.write(
    'Usage: npm run bench:workers -- [--redis-url redis://127.0.0.1:6379] [--workers 2] [--viewers 1000] [--rooms 1] [--chatters 5] [--rate 10] [--duration 10s] [--out FILE]\n' +
      '  Without --redis-url a redis-server (from PATH) is started on a free port for the run.\n',
  );
  process.exit(0);
}

const say = (line: string) => process.stderr.write(`${line}\n`);

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive free ports, below the kernel's ephemeral range (32768+ by default) where a
 * load run's own outgoing connections would take them; fixed ports, since workers cannot share 0.
 */
async function freePorts(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * (12_000 - count));
    let all = true;
    for (let i = 0; i < count && all; i++) all = await canBind(first + i);
    if (all) return first;
  }
  throw new Error(`no ${count} consecutive free ports between 20000 and 32000`);
}

async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what} within ${ms / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null ? Promise.resolve(child.exitCode) : new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

async function startRedis(): Promise<{ url: string; stop: () => Promise<void> }> {
  const port = await freePorts(1);
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  child.once('error', (error) => say(`redis-server: ${error.message} (install it: apt-get install redis-server, or give --redis-url)`));
  const url = `redis://127.0.0.1:${port}`;
  await until('redis-server answering PING', 10_000, async () => {
    const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    // Refused until redis-server listens: that is what the loop waits out, not an error to print.
    redis.on('error', () => {});
    try {
      await redis.connect();
      return (await redis.ping()) === 'PONG' ? true : undefined;
    } finally {
      redis.disconnect();
    }
  });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
      await exited(child);
    },
  };
}

async function redisCpuSeconds(url: string): Promise<number> {
  const redis = new Redis(url, { maxRetriesPerRequest: 1 });
  try {
    const info = await redis.info('cpu');
    const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? 0);
    return field('used_cpu_sys') + field('used_cpu_user');
  } finally {
    redis.disconnect();
  }
}

async function serverCpuSeconds(metricsUrls: string[]): Promise<number> {
  let total = 0;
  for (const url of metricsUrls) {
    const text = await (await fetch(url)).text();
    const line = text.split('\n').find((l) => l.startsWith('chatstorm_process_cpu_seconds_total'));
    if (!line) throw new Error(`${url} has no chatstorm_process_cpu_seconds_total`);
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return total;
}

interface Measured {
  workers: number;
  deliveriesPerSecond: number;
  frames: number;
  serverCpuUsPerDelivery: number;
  redisCpuUsPerDelivery: number;
  connectErrors: number;
  missing: number;
  passed: boolean;
}

async function measure(workers: number, redisUrl: string, dir: string): Promise<Measured> {
  const port = await freePorts(workers + 1);
  const metricsPort = port + 1;
  const server = spawn(
    process.execPath,
    [
      '--import', 'tsx', 'server/src/main.ts',
      '--port', String(port), '--metrics-port', String(metricsPort), '--workers', String(workers),
      '--redis-url', redisUrl, '--bench', '--data-dir', path.join(dir, `data-${workers}`), '--log-level', 'warn',
    ],
    { cwd: ROOT, stdio: ['ignore', 'inherit', 'inherit'] },
  );
  const url = `http://127.0.0.1:${port}`;
  // --workers 1 serves its metrics on --metrics-port; worker i of N on --metrics-port + i.
  const metricsUrls = Array.from({ length: workers }, (_, i) => `http://127.0.0.1:${metricsPort + i}/metrics`);
  try {
    await until(`chatstorm --workers ${workers} serving ${url} and ${metricsUrls.join(', ')}`, 30_000, async () => {
      if (server.exitCode !== null) throw new Error(`chatstorm exited with ${server.exitCode}`);
      for (const u of [`${url}/healthz`, ...metricsUrls]) if (!(await fetch(u)).ok) return undefined;
      return true;
    });
    const out = path.join(dir, `run-${workers}.json`);
    const cpuBefore = await serverCpuSeconds(metricsUrls);
    const redisBefore = await redisCpuSeconds(redisUrl);
    const runner = spawn(
      process.execPath,
      [
        '--import', 'tsx', 'scenarios/runner/cli.ts', '--profile', 'fanout', '--url', url, '--no-progress', '--no-pin', '--out', out,
        '--viewers', values.viewers!, '--rooms', values.rooms!, '--chatters', values.chatters!, '--rate', values.rate!,
        '--duration', values.duration!, '--ramp-up', '3s', '--set', 'hotRoomShare=0', '--threshold', 'loss == 0',
      ],
      { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] },
    );
    await exited(runner);
    const cpuAfter = await serverCpuSeconds(metricsUrls);
    const redisAfter = await redisCpuSeconds(redisUrl);
    const r = JSON.parse(readFileSync(out, 'utf8')) as RunResult;
    // No deliveries: no cost per delivery (NaN prints as n/a) rather than a huge figure.
    const frames = r.deliveries.frames > 0 ? r.deliveries.frames : Number.NaN;
    return {
      workers,
      deliveriesPerSecond: r.deliveries.perSecond,
      frames: r.deliveries.frames,
      serverCpuUsPerDelivery: ((cpuAfter - cpuBefore) * 1e6) / frames,
      redisCpuUsPerDelivery: ((redisAfter - redisBefore) * 1e6) / frames,
      connectErrors: r.viewers.connects.refused + r.viewers.connects.error,
      missing: r.deliveries.missing,
      passed: r.passed,
    };
  } finally {
    server.kill('SIGTERM');
    await exited(server);
  }
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'chatstorm-bench-workers-'));
const redis = values['redis-url'] ? undefined : await startRedis();
const redisUrl = values['redis-url'] ?? redis!.url;
try {
  say(`Redis at ${redisUrl}${redis ? ' (started for this run)' : ''}; load: ${values.viewers} viewers, ${values.rooms} room(s), ${values.chatters} chatters/room at ${values.rate} msg/s, ${values.duration}`);
  const one = await measure(1, redisUrl, dir);
  const many = await measure(Number(values.workers), redisUrl, dir);
  const ratio = many.deliveriesPerSecond / Math.max(1e-9, one.deliveriesPerSecond);
  const us = (n: number, digits: number) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a').padStart(7);
  const row = (m: Measured) =>
    `  --workers ${String(m.workers).padEnd(3)} ${Math.round(m.deliveriesPerSecond).toLocaleString('en-US').padStart(12)} deliveries/s   server CPU ${us(m.serverCpuUsPerDelivery, 2)} µs/delivery   Redis CPU ${us(m.redisCpuUsPerDelivery, 3)} µs/delivery   refused/failed connects ${m.connectErrors}   missing ${m.missing}`;
  const lines = [
    `chatstorm bench:workers — one process vs --workers ${many.workers} on ${os.availableParallelism()} core(s), same load (shared machine: noisy)`,
    row(one),
    row(many),
    `  ratio         ${ratio.toFixed(2)}× deliveries/s with --workers ${many.workers}`,
  ];
  if (many.connectErrors > 0 || many.missing > 0) {
    lines.push(
      `  WARNING       --workers ${many.workers} refused or lost viewers: the workers share no rooms or fan-out without the Redis store and bus, so this is not yet a measure of the backplane`,
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  const file = values.out ?? path.join(ROOT, 'results', `bench-workers-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify({ redisUrl, load: { viewers: values.viewers, rooms: values.rooms, chatters: values.chatters, rate: values.rate, duration: values.duration }, one, many, ratio }, null, 2)}\n`);
  process.stdout.write(`  results       ${file}\n`);
} finally {
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
}
