import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { RunResult } from '../lib/results.ts';

// A long soak writes its result so far every checkpoint period, so that a soak killed after hours
// (OOM killer, CI timeout, Ctrl-C twice) still leaves a report: the same results JSON, with
// `soak.partial: true` and `passed: false` (an unfinished soak has not passed).

/** Write to a temporary file beside `file`, then rename over it: a reader sees the old file or the new one, never half of one. */
export function writeJsonAtomically(file: string, value: unknown): void {
  mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(value, null, 2)}\n`);
  renameSync(temporary, file);
}

export interface Checkpoints {
  stop(): void;
}

/** Every `everyMs`, `snapshot()` marked partial and written to `file`; a failed write is said once and retried next time. */
export function startCheckpoints(file: string, everyMs: number, snapshot: () => RunResult, log: (line: string) => void): Checkpoints {
  let failing = false;
  const timer = setInterval(() => {
    try {
      const result = snapshot();
      result.passed = false;
      if (result.soak) result.soak.partial = true;
      writeJsonAtomically(file, result);
      failing = false;
    } catch (error) {
      if (!failing) log(`soak checkpoint ${file} could not be written: ${(error as Error).message}`);
      failing = true;
    }
  }, everyMs);
  return { stop: () => clearInterval(timer) };
}
