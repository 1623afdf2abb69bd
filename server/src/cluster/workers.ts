import { fork, type ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import type { ChatstormConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { ChatTokenCipher } from '../tokens/chat-token.ts';

// `--workers N`: N chatstorm processes on one port. uWebSockets.js listens itself and sets
// SO_REUSEPORT on Linux, so the kernel spreads connections over the processes; node:cluster's
// handle passing does not apply. This supervisor only forks, restarts, forwards signals and exits
// when every worker has stopped: it serves nothing.

/** What a worker tells its supervisor once it listens (main.ts sends it over the IPC channel). */
export interface WorkerListening {
  type: 'listening';
  url: string;
  metricsUrl: string;
  nodeId: string;
}

export function isWorkerListening(message: unknown): message is WorkerListening {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'listening';
}

/** Worker i serves its own /metrics here: the shared port would answer from whichever worker the kernel picks. */
export function workerMetricsPort(config: ChatstormConfig, index: number): number {
  return (config.metricsPort ?? config.port + 1) + index;
}

export function workerNodeId(config: ChatstormConfig, index: number): string {
  return `${config.nodeId ?? `${hostname()}:${config.port}`}-w${index}`;
}

// A worker that dies this often in this window is failing, not crashing now and then: restarting it
// forever would hide the fault behind a busy loop.
const RESTART_WINDOW_MS = 60_000;
const MAX_RESTARTS_IN_WINDOW = 5;
// A worker closes its sockets and flushes its store within seconds; one still running after this
// is stuck, and the supervisor must not hang with it.
const STOP_DEADLINE_MS = 30_000;

interface Slot {
  index: number;
  child?: ChildProcess;
  ready: boolean;
  restarts: number[];
}

/**
 * Runs `config.workers` copies of this entry point (`entry`, with `args` plus the per-worker
 * flags) and resolves with the exit code the supervisor should end with.
 */
export async function superviseWorkers(config: ChatstormConfig, entry: string, args: readonly string[], log: Logger): Promise<number> {
  // Every worker must seal and open tokens with the same key: create it once, before any starts,
  // rather than letting N processes race to generate their own.
  await mkdir(config.dataDir, { recursive: true });
  await ChatTokenCipher.load(config.dataDir, config.tokenKey, config.tokenKeyFile);

  const slots: Slot[] = Array.from({ length: config.workers }, (_, index) => ({ index, ready: false, restarts: [] }));
  let stopping = false;
  let exitCode = 0;
  let announced = false;
  let finish!: (code: number) => void;
  const finished = new Promise<number>((resolve) => (finish = resolve));

  const stopAll = (signal: NodeJS.Signals) => {
    for (const slot of slots) slot.child?.kill(signal);
    if (slots.every((slot) => !slot.child)) finish(exitCode);
    setTimeout(() => {
      for (const slot of slots) {
        if (!slot.child) continue;
        log.error({ worker: slot.index, pid: slot.child.pid }, `worker still running ${STOP_DEADLINE_MS / 1000} s after ${signal}; killing it`);
        exitCode = 1;
        slot.child.kill('SIGKILL');
      }
    }, STOP_DEADLINE_MS).unref();
  };

  const start = (slot: Slot) => {
    const nodeId = workerNodeId(config, slot.index);
    const child = fork(entry, [...args, '--workers', '1', '--node-id', nodeId, '--metrics-port', String(workerMetricsPort(config, slot.index))], {
      stdio: 'inherit',
    });
    slot.child = child;
    slot.ready = false;
    child.on('message', (message) => {
      if (!isWorkerListening(message)) return;
      slot.ready = true;
      log.info({ worker: slot.index, pid: child.pid, nodeId: message.nodeId, metricsUrl: message.metricsUrl }, 'worker listening');
      if (!announced && slots.every((s) => s.ready)) {
        announced = true;
        log.info({ url: message.url, workers: slots.length }, `chatstorm listening on ${message.url} with ${slots.length} workers`);
      }
    });
    child.on('exit', (code, signal) => {
      slot.child = undefined;
      if (stopping) {
        if (code !== 0) exitCode = 1;
        if (slots.every((s) => !s.child)) finish(exitCode);
        return;
      }
      if (!slot.ready) {
        // It never listened: a bad flag, a taken port, no native uWS. Another try meets the same.
        log.error({ worker: slot.index, code, signal }, 'worker failed to start; stopping every worker');
        stopping = true;
        exitCode = code && code > 0 ? code : 1;
        stopAll('SIGTERM');
        return;
      }
      const now = Date.now();
      slot.restarts = slot.restarts.filter((t) => now - t < RESTART_WINDOW_MS);
      if (slot.restarts.length >= MAX_RESTARTS_IN_WINDOW) {
        log.error({ worker: slot.index, code, signal, restarts: slot.restarts.length }, 'worker keeps crashing; stopping every worker');
        stopping = true;
        exitCode = 1;
        stopAll('SIGTERM');
        return;
      }
      slot.restarts.push(now);
      log.warn({ worker: slot.index, code, signal }, 'worker exited; restarting it');
      start(slot);
    });
  };

  const onStop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, workers: slots.length }, 'shutting down every worker');
    stopAll(signal);
  };
  const onHangup = () => {
    for (const slot of slots) slot.child?.kill('SIGHUP');
  };
  process.on('SIGINT', onStop);
  process.on('SIGTERM', onStop);
  process.on('SIGHUP', onHangup);
  for (const slot of slots) start(slot);
  const code = await finished;
  process.off('SIGINT', onStop);
  process.off('SIGTERM', onStop);
  process.off('SIGHUP', onHangup);
  log.info({ code }, 'every worker stopped');
  return code;
}
