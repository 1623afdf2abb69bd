import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { RunResult } from '../../lib/results.ts';
import { REPO_ROOT } from './processes.ts';

// A real k6 binary for tests and benchmarks: where it is, and one way to run a bundle with it.
// Looked for in K6_BIN, then ../shared/tools/k6/k6 beside the clone (what CI has), then PATH.

export interface K6Binary {
  path: string;
  /** `k6 version`'s first line. */
  version: string;
  /** Where it was found: K6_BIN, shared tools or PATH. */
  source: string;
}

export type K6Lookup = { found: K6Binary } | { found?: undefined; reason: string };

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function versionOf(file: string): string | undefined {
  const out = spawnSync(file, ['version'], { encoding: 'utf8', timeout: 15_000 });
  return out.status === 0 ? out.stdout.split('\n')[0]!.trim() : undefined;
}

export function findK6(env: NodeJS.ProcessEnv = process.env): K6Lookup {
  const candidates: { file: string; source: string }[] = [];
  // K6_BIN names one binary on purpose: a wrong one is reported, not silently replaced by another.
  if (env.K6_BIN) candidates.push({ file: path.resolve(REPO_ROOT, env.K6_BIN), source: 'K6_BIN' });
  else {
    candidates.push({ file: path.resolve(REPO_ROOT, '../shared/tools/k6/k6'), source: '../shared/tools/k6/k6' });
    for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) candidates.push({ file: path.join(dir, 'k6'), source: 'PATH' });
  }
  const tried: string[] = [];
  for (const { file, source } of candidates) {
    if (!existsSync(file)) {
      if (source !== 'PATH') tried.push(`${file} (${source}): not there`);
      continue;
    }
    const version = executable(file) ? versionOf(file) : undefined;
    if (version) return { found: { path: file, version, source } };
    tried.push(`${file} (${source}): not a working k6`);
  }
  return { reason: `no k6 binary: ${tried.join('; ') || 'none on PATH'}` };
}

/** The binary, or undefined after skipping the test; in CI (CI=true) a missing k6 fails instead. */
export function requireK6(t: { skip(message: string): void }): K6Binary | undefined {
  const lookup = findK6();
  if (lookup.found) return lookup.found;
  const message = `${lookup.reason} (set K6_BIN, or put k6 on PATH)`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${message}: required in CI`);
  t.skip(message);
  return undefined;
}

export interface K6RunOptions {
  /** A bundle, e.g. dist/k6-legacy/smoke.js. */
  script: string;
  /** Passed as -e NAME=VALUE (what the script reads from __ENV). */
  env: Record<string, string>;
  /** Extra `k6 run` arguments (--out, --summary-export, --tag, …). */
  args?: string[];
  /** Process environment for k6 itself (K6_PROMETHEUS_RW_*), on top of PATH/HOME. */
  processEnv?: Record<string, string>;
  cwd: string;
  timeoutMs: number;
  /** Pins k6 to these CPUs with taskset (benchmarks). */
  cpus?: string;
  /** Called with k6's pid once it runs (benchmarks sample its CPU and memory). */
  onStart?: (pid: number) => void;
}

export interface K6Run {
  /** k6's exit code: 0 passed, 99 thresholds failed, 108 aborted by the script (generator-bound). */
  code: number | null;
  output: string;
  seconds: number;
}

export function runK6(k6: K6Binary, o: K6RunOptions): Promise<K6Run> {
  const args = ['run', '--quiet', '--no-color', ...(o.args ?? [])];
  for (const [k, v] of Object.entries(o.env)) args.push('-e', `${k}=${v}`);
  args.push(o.script);
  const [command, argv] = o.cpus ? ['taskset', ['-c', o.cpus, k6.path, ...args]] : [k6.path, args];
  const started = Date.now();
  const child = spawn(command, argv as string[], {
    cwd: o.cwd,
    // No usage report to a network these machines cannot reach; nothing else from the caller's environment.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? o.cwd, K6_NO_USAGE_REPORT: 'true', ...o.processEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  if (child.pid && o.onStart) o.onStart(child.pid);
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      output += `\n[killed after ${o.timeoutMs} ms]`;
      child.kill('SIGKILL');
    }, o.timeoutMs);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** The results file handleSummary wrote (CHATSTORM_OUT), with k6's output in the error if it is missing. */
export function readResult(file: string, run: K6Run): RunResult {
  if (!existsSync(file)) throw new Error(`k6 wrote no results file ${file} (exit ${run.code}):\n${run.output}`);
  return JSON.parse(readFileSync(file, 'utf8')) as RunResult;
}

export const LEGACY_DIST = path.join(REPO_ROOT, 'dist', 'k6-legacy');
