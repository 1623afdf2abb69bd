import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

// The chatstorm server as a separate process: the harness only ever talks to it over the wire,
// and generator and server never share an event loop (or, when pinned, a core).

const MAIN = fileURLToPath(new URL('../../server/src/main.ts', import.meta.url));

export interface EmbeddedServer {
  url: string;
  pid: number;
  logFile: string;
  /** The server's --data-dir (its chat logs are under logs/); removed by stop(). */
  dataDir: string;
  /**
   * Stops the process the graceful way (SIGTERM: sockets closed, chat log and store flushed) and
   * keeps its data dir; true when it exited cleanly, false when it had to be killed.
   */
  shutdown(): Promise<boolean>;
  /** shutdown(), then the data dir is removed. */
  stop(): Promise<void>;
}

export interface EmbeddedServerOptions {
  /** taskset core list for the server, when pinning. */
  cores?: string;
  extraArgs?: string[];
  /** Flags for node itself, before the entry (e.g. --cpu-prof). */
  nodeOptions?: string[];
  startTimeoutMs?: number;
}

export async function startEmbeddedServer(options: EmbeddedServerOptions = {}): Promise<EmbeddedServer> {
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'chatstorm-bench-'));
  const logFile = path.join(dataDir, 'server.log');
  const nodeArgs = [...(options.nodeOptions ?? []), '--import', 'tsx', MAIN, '--port', '0', '--host', '127.0.0.1', '--bench', '--data-dir', dataDir, '--log-level', 'info', ...(options.extraArgs ?? [])];
  const [command, args] = options.cores ? ['taskset', ['-c', options.cores, process.execPath, ...nodeArgs]] : [process.execPath, nodeArgs];
  const child = spawn(command, args as string[], { stdio: ['ignore', 'pipe', 'pipe'], cwd: path.dirname(path.dirname(path.dirname(MAIN))) });
  const log = createWriteStream(logFile);
  child.stderr!.pipe(log);

  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`the server did not start within ${options.startTimeoutMs ?? 20_000} ms (log: ${logFile})`)), options.startTimeoutMs ?? 20_000);
    const lines = createInterface({ input: child.stdout! });
    const fail = (error: Error) => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(error);
    };
    child.once('exit', (code) => fail(new Error(`the server exited with code ${code} before listening (log: ${logFile})`)));
    lines.once('line', (line) => {
      log.write(`${line}\n`);
      clearTimeout(timer);
      child.removeAllListeners('exit');
      lines.close();
      child.stdout!.pipe(log);
      try {
        const parsed = JSON.parse(line) as { url?: string };
        if (parsed.url) resolve(parsed.url);
        else fail(new Error(`unexpected first line from the server: ${line}`));
      } catch {
        fail(new Error(`unexpected first line from the server: ${line}`));
      }
    });
  });

  const shutdown = () => shutdownChild(child);
  return {
    url,
    pid: child.pid!,
    logFile,
    dataDir,
    shutdown,
    stop: async () => {
      await shutdown();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

async function shutdownChild(child: ChildProcess): Promise<boolean> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }
  return child.exitCode === 0;
}
