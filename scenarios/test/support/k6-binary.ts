import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from './processes.ts';

// A real k6 for tests: K6_BIN, else the project's pinned build beside the clone
// (../shared/tools/k6/k6, see its README), else k6 on PATH. Tests that need it skip with a
// clear message when there is none, except under CI=true, where a missing k6 is a failure.

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function findK6(): string | undefined {
  const candidates = [
    process.env.K6_BIN,
    path.resolve(REPO_ROOT, '../shared/tools/k6/k6'),
    ...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean).map((dir) => path.join(dir, 'k6')),
  ];
  return candidates.find((file): file is string => Boolean(file) && executable(file!));
}

/** The k6 binary, or a reason to skip; throws under CI=true so CI never silently skips. */
export function k6OrSkip(): { k6: string } | { skip: string } {
  const k6 = findK6();
  if (k6) return { k6 };
  const why = 'no k6 binary (set K6_BIN, put one at ../shared/tools/k6/k6, or on PATH)';
  if (process.env.CI === 'true') throw new Error(`${why}: CI=true requires the real-k6 tests to run`);
  return { skip: why };
}

/** `k6 version` as [major, minor], or undefined when it does not say. */
export async function k6Version(k6: string): Promise<[number, number] | undefined> {
  const { output } = await runK6Command(k6, ['version'], process.cwd(), 30_000);
  const m = /k6 v(\d+)\.(\d+)/.exec(output);
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The bundle variant this k6 runs: k6/websockets graduated from experimental in v0.52. */
export async function bundleVariantFor(k6: string): Promise<'k6' | 'k6-legacy'> {
  const v = await k6Version(k6);
  return v && (v[0] > 0 || v[1] >= 52) ? 'k6' : 'k6-legacy';
}

export interface K6Run {
  code: number | null;
  output: string;
}

/**
 * `k6 run` with `-e` variables, from `cwd`, killed after `timeoutMs`. No usage report (the network
 * stays on this machine) and no REST API port (parallel runs would fight over 6565).
 */
export function runK6(k6: string, script: string, env: Record<string, string>, cwd: string, timeoutMs: number): Promise<K6Run> {
  const args = ['run', '--no-usage-report', '--address', '', '--no-color', ...Object.entries(env).flatMap(([k, v]) => ['-e', `${k}=${v}`]), script];
  return runK6Command(k6, args, cwd, timeoutMs);
}

function runK6Command(k6: string, args: string[], cwd: string, timeoutMs: number): Promise<K6Run> {
  const child = spawn(k6, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, K6_NO_USAGE_REPORT: 'true' } });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      output += `\n[killed after ${timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}
