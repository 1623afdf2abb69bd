import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePortRun } from './support/free-ports.ts';
import { REDIS_SKIP, startRedis, type TestRedis } from './support/redis.ts';
import { within } from './support/within.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface LogLine {
  msg: string;
  pid: number;
  worker?: number;
  nodeId?: string;
  metricsUrl?: string;
  [key: string]: unknown;
}

/** A process whose JSON log lines (and any other output) are collected, with a wait for a line. */
function run(args: string[], options: { script?: string } = {}) {
  const argv = options.script ? ['--input-type=module', '-e', options.script, '--', ...args] : ['--import', 'tsx', MAIN, ...args];
  const child = spawn(process.execPath, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const lines: LogLine[] = [];
  const waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  let buffered = '';
  const onData = (chunk: Buffer) => {
    output += chunk.toString();
    buffered += chunk.toString();
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const text = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      let line: LogLine;
      try {
        line = JSON.parse(text) as LogLine;
      } catch {
        continue;
      }
      lines.push(line);
      for (const waiter of [...waiters]) {
        if (waiter.match(line)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(line);
        }
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return {
    child,
    exited,
    output: () => output,
    /** The first log line (past or future) that matches, within `ms`. */
    line(what: string, match: (line: LogLine) => boolean, ms = 20_000): Promise<LogLine> {
      const seen = lines.find(match);
      if (seen) return Promise.resolve(seen);
      const waiting = new Promise<LogLine>((resolve) => waiters.push({ match, resolve }));
      return within(Promise.race([waiting, exited.then((code) => Promise.reject(new Error(`exited with ${code} waiting for ${what}:\n${output}`)))]), ms, `${what}\n${output}`);
    },
  };
}

/** One request on a fresh TCP connection, so the kernel picks a listener for each. */
function freshConnectionPost(url: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { method: 'POST', agent: false, headers: { connection: 'close' } }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

function sumOf(metricsText: string, name: string): number {
  return metricsText
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.slice(line.lastIndexOf(' ') + 1)), 0);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const BARE_LISTENER = `
import uws from 'uWebSockets.js';
const port = Number(process.argv.at(-1));
uws.App().get('/*', (res) => res.end(String(process.pid))).listen('127.0.0.1', port, (socket) => {
  console.log(JSON.stringify({ msg: socket ? 'listening' : 'refused', pid: process.pid }));
  if (!socket) process.exit(1);
});
`;

describe('--workers', { skip: REDIS_SKIP }, () => {
  // The workers keep their rooms, tokens and fan-out in it.
  let redis: TestRedis;
  let redisUrl = '';
  let dataDir: string;
  before(async () => {
    redis = await startRedis();
    redisUrl = redis.url;
    dataDir = await mkdtemp(join(tmpdir(), 'chatstorm-workers-'));
  });
  after(async () => {
    await redis?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  test('uWebSockets.js 20.30 lets two processes listen on one port, and connections land on both', async () => {
    const port = await freePortRun(1);
    const a = run([String(port)], { script: BARE_LISTENER });
    const b = run([String(port)], { script: BARE_LISTENER });
    try {
      await a.line('first listener', (l) => l.msg === 'listening');
      await b.line('second listener on the same port', (l) => l.msg === 'listening');
      const answeredBy = new Set<string>();
      for (let i = 0; i < 40 && answeredBy.size < 2; i++) {
        const text = await new Promise<string>((resolve, reject) => {
          request(`http://127.0.0.1:${port}/`, { agent: false }, (res) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => resolve(body));
          })
            .on('error', reject)
            .end();
        });
        answeredBy.add(text);
      }
      assert.deepEqual([...answeredBy].sort(), [String(a.child.pid), String(b.child.pid)].sort(), 'both processes answered on the one port');
    } finally {
      a.child.kill('SIGKILL');
      b.child.kill('SIGKILL');
      await Promise.all([a.exited, b.exited]);
    }
  });

  test('more than one worker without --redis-url refuses to start and says why', async () => {
    const refused = run(['--workers', '2', '--port', '18080', '--data-dir', dataDir]);
    assert.equal(await refused.exited, 2);
    assert.match(refused.output(), /--workers \/ CHATSTORM_WORKERS: 2 workers must share rooms, tokens and fan-out through Redis: give --redis-url/);
    const anyPort = run(['--workers', '2', '--port', '0', '--redis-url', redisUrl, '--data-dir', dataDir]);
    assert.equal(await anyPort.exited, 2);
    assert.match(anyPort.output(), /workers share one port: give a fixed --port/);
  });

  test('two workers serve one port, each with its own /metrics labelled by node; a killed worker is restarted; SIGTERM stops them all', async () => {
    const port = await freePortRun(3);
    const supervisor = run(['--workers', '2', '--port', String(port), '--metrics-port', String(port + 1), '--node-id', 'edge', '--redis-url', redisUrl, '--data-dir', dataDir, '--api-quotas', 'off']);
    try {
      await supervisor.line('the supervisor announcing both workers', (l) => l.msg === `chatstorm listening on http://127.0.0.1:${port} with 2 workers`);
      const workers = await Promise.all([0, 1].map((i) => supervisor.line(`worker ${i}`, (l) => l.msg === 'worker listening' && l.worker === i)));
      assert.deepEqual(
        workers.map((w) => [w.nodeId, w.metricsUrl]),
        [
          ['edge-w0', `http://127.0.0.1:${port + 1}/metrics`],
          ['edge-w1', `http://127.0.0.1:${port + 2}/metrics`],
        ],
      );

      const requests = 40;
      for (let i = 0; i < requests; i++) assert.equal(await freshConnectionPost(`http://127.0.0.1:${port}`, '/ListRooms'), 200);
      const texts = await Promise.all(workers.map(async (w) => (await fetch(w.metricsUrl!)).text()));
      const perWorker = texts.map((text) => sumOf(text, 'chatstorm_api_requests_total'));
      assert.equal(perWorker[0]! + perWorker[1]!, requests, `every request was served once: ${perWorker}`);
      assert.ok(perWorker.every((n) => n > 0), `both workers served requests on the shared port: ${perWorker}`);
      texts.forEach((text, i) => {
        const samples = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
        const unlabelled = samples.filter((line) => !line.includes(`node="edge-w${i}"`));
        assert.deepEqual(unlabelled, [], `every series of worker ${i} carries node="edge-w${i}"`);
      });

      process.kill(workers[0]!.pid, 'SIGKILL');
      const restarted = await supervisor.line('worker 0 restarted', (l) => l.msg === 'worker listening' && l.worker === 0 && l.pid !== workers[0]!.pid);
      const metrics = await (await fetch(restarted.metricsUrl!)).text();
      assert.match(metrics, /^chatstorm_connections\{node="edge-w0"\} 0$/m, 'the new worker 0 serves its metrics port');

      supervisor.child.kill('SIGTERM');
      assert.equal(await within(supervisor.exited, 20_000, 'the supervisor to exit after SIGTERM'), 0);
      assert.ok(!alive(restarted.pid) && !alive(workers[1]!.pid), 'no worker outlives its supervisor');
      assert.ok(supervisor.output().includes('"msg":"chatstorm stopped"'), 'workers shut down through their own SIGTERM path');
    } finally {
      supervisor.child.kill('SIGKILL');
    }
  });

  test('a worker that cannot start stops the supervisor with an error instead of restarting forever', async () => {
    const port = await freePortRun(3);
    // A plain socket on worker 1's metrics port: no SO_REUSEPORT there, so that worker's listen fails.
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(port + 2, '127.0.0.1', resolve));
    try {
      const supervisor = run(['--workers', '2', '--port', String(port), '--redis-url', redisUrl, '--data-dir', dataDir]);
      assert.equal(await within(supervisor.exited, 20_000, 'the supervisor to give up'), 1);
      assert.match(supervisor.output(), /cannot listen on 127\.0\.0\.1:\d+/);
      assert.match(supervisor.output(), /worker failed to start; stopping every worker/);
    } finally {
      squatter.close();
    }
  });
});
