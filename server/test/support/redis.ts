import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';

/**
 * A real redis-server on a free port of 127.0.0.1, its data in a temporary directory. Tests that need one
 * skip with `REDIS_SKIP` when redis-server is not installed, except on CI (CI=true), where its
 * absence is a failure: CI installs it.
 */
export const REDIS_SERVER = process.env.CHATSTORM_TEST_REDIS_SERVER ?? 'redis-server';

function redisServerMissing(): boolean {
  return spawnSync(REDIS_SERVER, ['--version'], { stdio: 'ignore' }).error !== undefined;
}

/** The `skip` option of a test that needs redis-server: a reason when it is missing (and not on CI), else false. */
export const REDIS_SKIP: string | false =
  redisServerMissing() && process.env.CI !== 'true'
    ? `${REDIS_SERVER} is not installed (apt-get install redis-server); on CI this fails instead`
    : false;

export interface TestRedis {
  readonly url: string;
  readonly port: number;
  /** A plain client for assertions (PUBSUB SHARDCHANNELS …); closed by stop(). */
  readonly client: Redis;
  /**
   * Stops the server (SIGKILL: an outage, not a shutdown) after a SAVE, so that start() brings it
   * back on the same port with its data, as a Redis with persistence comes back: the nodes keep
   * their rooms and tokens in it.
   */
  kill(): Promise<void>;
  start(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(): Promise<TestRedis> {
  const port = await freePort();
  const dir = await mkdtemp(join(tmpdir(), 'chatstorm-redis-'));
  let child: ChildProcess | undefined;
  const start = async () => {
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--dbfilename', 'dump.rdb'];
    const started = spawn(REDIS_SERVER, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = started;
    await new Promise<void>((resolve, reject) => {
      let output = '';
      const timer = setTimeout(() => reject(new Error(`redis-server did not start within 10 s:\n${output}`)), 10_000);
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          resolve();
        }
      };
      started.stdout!.on('data', onData);
      started.stderr!.on('data', onData);
      started.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      started.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`redis-server exited with ${code}:\n${output}`));
      });
    });
  };
  const kill = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await client.call('SAVE').catch(() => undefined);
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGKILL');
    });
  };
  await start();
  const url = `redis://127.0.0.1:${port}`;
  // Retries quietly through kill()/start() so assertions can be made after a restart.
  const client = new Redis(url, { lazyConnect: true, retryStrategy: () => 50 });
  client.on('error', () => {});
  await client.connect();
  return {
    url,
    port,
    client,
    kill,
    start,
    async stop() {
      const running = child;
      child = undefined;
      client.disconnect();
      if (running && running.exitCode === null) {
        await new Promise<void>((resolve) => {
          running.once('exit', () => resolve());
          running.kill('SIGKILL');
        });
      }
      await rm(dir, { recursive: true, force: true });
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
