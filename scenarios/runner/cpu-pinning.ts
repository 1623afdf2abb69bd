import { execFileSync } from 'node:child_process';
import os from 'node:os';

// On a machine with few cores, a generator that shares a core with the server measures its own
// contention, not the server. The embedded server gets core 0, the generator the rest.

export interface Pinning {
  serverCores: string;
  generatorCores: string;
}

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export function planPinning(): Pinning | undefined {
  const cores = os.availableParallelism();
  if (process.platform !== 'linux' || cores < 2 || !hasTaskset()) return undefined;
  return { serverCores: '0', generatorCores: `1-${cores - 1}` };
}

/** Pins every thread of this process; threads started afterwards (workers) inherit it. */
export function pinSelf(cores: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-p', '-c', cores, String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
