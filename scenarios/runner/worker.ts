import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { ReplayPlan } from '../lib/replay/replay-plan.ts';
import { Plan } from '../lib/schedule.ts';
import { Swarm } from '../lib/swarm.ts';
import { createControlPlane } from './control-plane.ts';
import { WorkerDeliveryLog } from './worker-delivery-log.ts';
import type { MainToWorker, WorkerInit, WorkerReport } from './worker-messages.ts';
import { WorkerMetrics } from './worker-metrics.ts';
import { RawTransport } from './raw-transport.ts';
import { WsTransport } from './ws-transport.ts';

// One worker thread: a slice of the audience on its own event loop, reporting once a second.

const init = workerData as WorkerInit;
const port = parentPort!;
const metrics = new WorkerMetrics();
const log = new WorkerDeliveryLog();
const interval = monitorEventLoopDelay({ resolution: 10 });
const whole = monitorEventLoopDelay({ resolution: 10 });
interval.enable();
whole.enable();

// timeOrigin + now(): high resolution, and the same epoch in every thread of the process.
const clock = { now: () => performance.timeOrigin + performance.now() };

const swarm = new Swarm({
  plan: init.replay ? new ReplayPlan(init.profile, init.replay) : new Plan(init.profile),
  // A replay keeps recorded moments to within a few ms rather than the synthetic chat's 20 ms.
  ...(init.replay ? { replay: init.replay, tickMs: 5 } : {}),
  slice: init.slice,
  rooms: init.rooms,
  wsUrl: init.wsUrl,
  startAt: init.startAt,
  clock,
  ticker: { every: (ms, fn) => setInterval(fn, ms), cancel: (h) => clearInterval(h as NodeJS.Timeout) },
  transport: init.transport === 'raw' ? new RawTransport() : new WsTransport(),
  control: createControlPlane(init.control),
  metrics,
  log,
});

function report(final: boolean): void {
  const batch = log.take();
  const message: WorkerReport = {
    type: 'report',
    final,
    worker: init.slice.index,
    counters: metrics.take(),
    latency: metrics.latency.take(),
    handshake: metrics.handshake.take(),
    token: metrics.token.take(),
    ack: metrics.ack.take(),
    connected: swarm.connected,
    connecting: swarm.connecting,
    sends: batch.sends,
    resolutions: batch.resolutions,
    closed: batch.closed,
    eventLoopP99Ms: interval.percentile(99) / 1e6,
    eventLoopRunP99Ms: whole.percentile(99) / 1e6,
  };
  interval.reset();
  port.postMessage(message);
}

port.on('message', (m: MainToWorker) => {
  if (m.type === 'finish') swarm.abort();
});

const timer = setInterval(() => report(false), init.reportMs);
swarm.start();
await swarm.finished;
clearInterval(timer);
report(true);
// The main thread terminates this worker once it has the final report; keep-alive HTTP sockets
// would otherwise hold the thread open.
