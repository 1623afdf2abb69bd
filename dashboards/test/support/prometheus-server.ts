import { spawn, type ChildProcess } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';

// A real Prometheus for a test: its own config and data dir, 127.0.0.1 on a free port, stopped
// (SIGTERM, then SIGKILL) by stop().

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export interface RangeResult {
  metric: Record<string, string>;
  values: [number, string][];
}

export interface RunningPrometheus {
  readonly url: string;
  /** GET /api/v1/query_range; throws with Prometheus's error text on a bad query. */
  queryRange(expr: string, start: number, end: number, stepSeconds: number): Promise<RangeResult[]>;
  query(expr: string, time?: number): Promise<{ metric: Record<string, string>; value: [number, string] }[]>;
  get<T>(path: string): Promise<T>;
  stop(): Promise<void>;
  /** Everything Prometheus logged, for failure messages. */
  log(): string;
}

export async function startPrometheus(options: { binary: string; dir: string; config: string; port: number }): Promise<RunningPrometheus> {
  const configFile = join(options.dir, 'prometheus.yml');
  await writeFile(configFile, options.config);
  const url = `http://127.0.0.1:${options.port}`;
  const child = spawn(
    options.binary,
    [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${join(options.dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${options.port}`,
      // As in docker-compose.yml, so the flag itself is exercised.
      '--web.enable-remote-write-receiver',
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));

  const get = async <T>(path: string): Promise<T> => {
    const response = await fetch(`${url}${path}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`Prometheus ${path}: ${body.error ?? response.status}`);
    return body.data;
  };

  await waitUntilReady(url, child, () => output, 15_000);
  return {
    url,
    get,
    async queryRange(expr, start, end, stepSeconds) {
      const params = new URLSearchParams({ query: expr, start: String(start), end: String(end), step: String(stepSeconds) });
      return (await get<{ result: RangeResult[] }>(`/api/v1/query_range?${params}`)).result;
    },
    async query(expr, time) {
      const params = new URLSearchParams({ query: expr, ...(time === undefined ? {} : { time: String(time) }) });
      return (await get<{ result: { metric: Record<string, string>; value: [number, string] }[] }>(`/api/v1/query?${params}`)).result;
    },
    stop: () => stopProcess(child),
    log: () => output,
  };
}

async function waitUntilReady(url: string, child: ChildProcess, log: () => string, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`prometheus exited with ${child.exitCode}:\n${log()}`);
    const ready = await fetch(`${url}/-/ready`).then(
      (response) => response.ok,
      () => false,
    );
    if (ready) return;
    if (Date.now() > deadline) throw new Error(`prometheus not ready within ${ms} ms:\n${log()}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** SIGTERM, then SIGKILL after 5 s; resolves once the process is gone. */
export function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
