import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { REPO_ROOT } from './compose-file.ts';
import { stopProcess } from './prometheus-server.ts';

// The server and the Node runner as separate processes, started the way TEAM.md documents them,
// so that Prometheus scrapes exactly what a user's would.

export interface ChatstormProcess {
  readonly url: string;
  stop(): Promise<void>;
}

/** `node --import tsx server/src/main.ts --port 0 …`; resolves with the URL from its first log line. */
export async function startChatstormProcess(dataDir: string, extraArgs: string[] = []): Promise<ChatstormProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'server/src/main.ts', '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, '--bench', '--log-level', 'info', ...extraArgs],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`chatstorm did not start within 15 s:\n${stderr}`)), 15_000);
    child.once('exit', (code) => reject(new Error(`chatstorm exited with ${code}:\n${stderr}`)));
    lines.once('line', (line) => {
      clearTimeout(timer);
      const found = (JSON.parse(line) as { url?: string }).url;
      if (found) resolve(found);
      else reject(new Error(`unexpected first line from chatstorm: ${line}`));
    });
  });
  // Keep reading so a chatty server never blocks on a full pipe.
  lines.on('line', () => {});
  return { url, stop: () => stopProcess(child) };
}

export interface Finished {
  code: number | null;
  output: string;
}

/** Runs a command to completion (or kills it after `ms`), keeping its output for failure messages. */
export function runToCompletion(args: string[], ms: number): { child: ChildProcess; finished: Promise<Finished> } {
  const child = spawn(process.execPath, args, { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const finished = new Promise<Finished>((resolve) => {
    const timer = setTimeout(() => {
      output += `\n[killed after ${ms} ms]`;
      child.kill('SIGKILL');
    }, ms);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
  return { child, finished };
}
