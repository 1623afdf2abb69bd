import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The fuzz target is chatstorm as its own process, started as `npm start` starts it: a crash is
// then an exit code and a log, not a dead test runner, and its RSS is its own.

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));

export interface FuzzTarget {
  readonly url: string;
  readonly wsUrl: string;
  readonly pid: number;
  /** Everything the process printed (bounded to the last 64 KiB). */
  output(): string;
  /** The exit code or signal, once it died; undefined while it runs. */
  exitStatus(): string | undefined;
  /** Resident set size from /proc, in bytes. */
  rssBytes(): Promise<number>;
  /** One control-plane call (a string body is sent as written); throws with the status and body unless it answers 200. */
  call<T = Record<string, unknown>>(operation: string, body: unknown): Promise<T>;
  stop(): Promise<void>;
}

const OUTPUT_LIMIT = 64 * 1024;

export async function startFuzzTarget(args: string[] = [], startMs = 30_000): Promise<FuzzTarget> {
  const dataDir = await mkdtemp(join(tmpdir(), 'chatstorm-fuzz-'));
  const child: ChildProcess = spawn(
    process.execPath,
    ['--import', 'tsx', MAIN, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--log-level', 'info', ...args],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  let exit: string | undefined;
  const exited = new Promise<void>((resolve) =>
    child.once('exit', (code, signal) => {
      exit = signal ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    }),
  );
  const url = await new Promise<string>((resolve, reject) => {
    // A target that does not come up is not left running: kill it and say why.
    const fail = (error: Error) => {
      child.kill('SIGKILL');
      void rm(dataDir, { recursive: true, force: true });
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`the fuzz target did not start within ${startMs} ms:\n${output}`)), startMs);
    const onData = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_LIMIT);
      const match = /chatstorm listening on (http:\/\/[^"\s]+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    void exited.then(() => {
      clearTimeout(timer);
      fail(new Error(`the fuzz target ended (${exit}) before listening:\n${output}`));
    });
  });

  const call = async <T>(operation: string, body: unknown): Promise<T> => {
    const response = await fetch(`${url}/${operation}`, { method: 'POST', body: typeof body === 'string' ? body : JSON.stringify(body), signal: AbortSignal.timeout(10_000) });
    const text = await response.text();
    if (response.status !== 200) throw new Error(`${operation} answered ${response.status}: ${text}`);
    return JSON.parse(text) as T;
  };

  return {
    url,
    wsUrl: url.replace(/^http/, 'ws'),
    pid: child.pid!,
    output: () => output,
    exitStatus: () => exit,
    async rssBytes() {
      const status = await readFile(`/proc/${child.pid}/status`, 'utf8');
      const kib = /^VmRSS:\s+(\d+) kB$/m.exec(status);
      if (!kib) throw new Error(`no VmRSS in /proc/${child.pid}/status`);
      return Number(kib[1]) * 1024;
    },
    call,
    async stop() {
      if (exit === undefined) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      await rm(dataDir, { recursive: true, force: true });
    },
  };
}
