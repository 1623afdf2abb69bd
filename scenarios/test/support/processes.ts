import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export function tempDir(t: { after(fn: () => void): void }): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'chatstorm-scenarios-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** The chat server as TEAM.md says to start it: a separate process on a random port. */
export async function startServer(dataDir: string, extraArgs: string[] = []): Promise<{ url: string; stop: () => Promise<void> }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'server/src/main.ts', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--bench', '--log-level', 'info', ...extraArgs],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start within 20 s')), 20_000);
    createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`the server exited with ${code}`)));
  });
  child.stdout!.resume();
  const { url } = JSON.parse(line) as { url: string };
  return { url, stop: () => stop(child) };
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  // A server that ignores SIGTERM must not hold the test up until the global timeout.
  const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(kill);
}

export interface Finished {
  code: number | null;
  output: string;
}

/**
 * One of the runner's command-line scripts (`scenarios/runner/<script>`) as a child process, with
 * `env` added to ours, killed if it outlives the timeout.
 */
export function runScript(script: string, args: string[], timeoutMs: number, env: Record<string, string> = {}): { child: ChildProcess; finished: Promise<Finished> } {
  const child = spawn(process.execPath, ['--import', 'tsx', `scenarios/runner/${script}`, '--no-progress', ...args], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const finished = new Promise<Finished>((resolve) => {
    // Two SIGTERMs are the runner's "quit now", which still stops the server it started; SIGKILL
    // only if even that does not end it.
    const timer = setTimeout(() => {
      output += `\n[${script} stopped after ${timeoutMs} ms]`;
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGTERM'), 200).unref();
      setTimeout(() => child.kill('SIGKILL'), 5000).unref();
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  return { child, finished };
}

/** `npm run bench -- <args>` as a child process (with `env` added to ours), killed if it outlives the timeout. */
export function runBench(args: string[], timeoutMs: number, env: Record<string, string> = {}): { child: ChildProcess; finished: Promise<Finished> } {
  return runScript('cli.ts', args, timeoutMs, env);
}
