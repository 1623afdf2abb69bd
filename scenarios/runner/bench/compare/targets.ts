import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { startEmbeddedServer } from '../../embedded-server.ts';

// The three servers bench:compare puts side by side, each a separate process (pinned to the
// server core when pinning), reached only over the wire.

export const TARGETS = ['bare', 'chatstorm', 'ws'] as const;
export type TargetName = (typeof TARGETS)[number];

export interface Target {
  name: TargetName;
  url: string;
  port: number;
  pid: number;
  /** Bytes the server holds in its send buffers (inside the process), read from the server itself. */
  bufferedBytes(): Promise<number>;
  stop(): Promise<void>;
}

const SCRIPTS: Record<Exclude<TargetName, 'chatstorm'>, string> = {
  bare: fileURLToPath(new URL('../targets/bare-uws.ts', import.meta.url)),
  ws: fileURLToPath(new URL('../targets/ws-server.ts', import.meta.url)),
};

export interface StartOptions {
  cores?: string;
  nodeOptions?: string[];
  /** chatstorm flags beyond --bench. */
  chatstormArgs?: string[];
}

/** Targets still running: killed if this process ends without stopping them (an error, Ctrl-C). */
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
});
process.once('SIGINT', () => process.exit(130));

export async function startTarget(name: TargetName, o: StartOptions): Promise<Target> {
  const target = await launch(name, o);
  running.add(target.pid);
  return {
    ...target,
    stop: async () => {
      await target.stop();
      running.delete(target.pid);
    },
  };
}

async function launch(name: TargetName, o: StartOptions): Promise<Target> {
  if (name === 'chatstorm') {
    const server = await startEmbeddedServer({ cores: o.cores, nodeOptions: o.nodeOptions, extraArgs: o.chatstormArgs ?? [] });
    return {
      name,
      url: server.url,
      port: Number(new URL(server.url).port),
      pid: server.pid,
      // The backpressure monitor's gauge: sampled by the server once a second.
      bufferedBytes: async () => {
        const text = await (await fetch(`${server.url}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
        const line = text.split('\n').find((l) => l.startsWith('chatstorm_backpressure_buffered_bytes '));
        return line ? Number(line.split(' ')[1]) : NaN;
      },
      stop: () => server.stop(),
    };
  }
  const nodeArgs = [...(o.nodeOptions ?? []), '--import', 'tsx', SCRIPTS[name]];
  const [command, args] = o.cores ? ['taskset', ['-c', o.cores, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child = spawn(command, args as string[], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${name} did not start within 20 s`)), 20_000);
    createInterface({ input: child.stdout! }).once('line', (l) => {
      clearTimeout(timer);
      resolve(l);
    });
    child.once('exit', (code) => reject(new Error(`${name} exited with ${code} before listening`)));
  });
  child.removeAllListeners('exit');
  const url = (JSON.parse(line) as { url: string }).url;
  return {
    name,
    url,
    port: Number(new URL(url).port),
    pid: child.pid!,
    bufferedBytes: async () => ((await (await fetch(`${url}/stats`, { signal: AbortSignal.timeout(5000) })).json()) as { bufferedBytes: number }).bufferedBytes,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

const TICKS_PER_SECOND = 100;

/** A process's CPU seconds (user + system) from /proc/<pid>/stat: costs the server nothing. */
export function processCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces) start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}
