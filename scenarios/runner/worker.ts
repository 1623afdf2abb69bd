import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parentPort, workerData } from 'node:worker_threads';
import { ReplayPlan } from '../lib/replay/replay-plan.ts';
import { Plan } from '../lib/schedule.ts';
import { Swarm } from '../lib/swarm.ts';
import { createControlPlane } from './control-plane.ts';
import { WorkerDeliveryLog } from './worker-delivery-log.ts';
import type { MainToWorker, WorkerInit, WorkerReady, WorkerReport } from './worker-messages.ts';
import { WorkerMetrics } from './worker-metrics.ts';
import { RawTransport } from './raw-transport.ts';
import { WsTransport } from './ws-transport.ts';

// One worker thread: a slice of the audience on its own event loop, reporting once a second.

const init = workerData as WorkerInit;
const port = parentPort!;
const metrics = new WorkerMetrics(init.wsUrls?.length ?? 1);
const log = new WorkerDeliveryLog();
const interval = monitorEventLoopDelay({ resolution: 10 });
const whole = monitorEventLoopDelay({ resolution: 10 });
interval.enable();
whole.enable();

// timeOrigin + now(): high resolution, and the same epoch in every thread of the process.
const clock = { now: () => performance.timeOrigin + performance.now() };

// Loading this thread (tsx compiling the runner) takes from a few hundred ms to seconds on a busy
// machine, so t = 0 comes from the main thread once every worker is here, not from a guess.
const startAt = await new Promise<number>((resolve) => {
  const onStart = (m: MainToWorker) => {
    if (m.type !== 'start') return;
    port.off('message', onStart);
    resolve(m.startAt);
  };
  port.on('message', onStart);
  port.postMessage({ type: 'ready', worker: init.slice.index } satisfies WorkerReady);
});

const raw = init.transport === 'raw' ? new RawTransport() : null;
const ws = raw ? null : new WsTransport();
const swarm = new Swarm({
  plan: init.replay ? new ReplayPlan(init.profile, init.replay) : new Plan(init.profile),
  // A replay keeps recorded moments to within a few ms rather than the synthetic chat's 20 ms.
  ...(init.replay ? { replay: init.replay, tickMs: 5 } : {}),
  slice: init.slice,
  rooms: init.rooms,
  wsUrl: init.wsUrl,
  ...(init.wsUrls ? { wsUrls: init.wsUrls } : {}),
  startAt,
  clock,
  ticker: { every: (ms, fn) => setInterval(fn, ms), cancel: (h) => clearInterval(h as NodeJS.Timeout) },
  transport: raw ?? ws!,
  decodeEvery: raw ? (init.decodeEvery ?? 0) : 0,
  control: createControlPlane(init.control),
  metrics,
  log,
});

function report(final: boolean): void {
  if (raw) {
    // Frames counted without a decode never passed metrics.delivered; the decoded samples did.
    const t = raw.takeTotals();
    const c = metrics.counters;
    c.frames += t.frames - t.decoded;
    c.counted += t.frames;
    c.countedBytes += t.bytes;
    c.decoded += t.decoded;
  }
  metrics.counters.bytesRead += (raw ?? ws!).takeBytesRead();
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
    ...(metrics.nodes.length ? { nodes: metrics.nodes.map((n) => n.take()) } : {}),
    connected: swarm.connected,
    connecting: swarm.connecting,
    sends: batch.sends,
    resolutions: batch.resolutions,
    closed: batch.closed,
    moderations: batch.moderations,
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
// Test-only (scenarios/test/runner-faults.test.ts): CHATSTORM_TEST_CRASH_WORKER=<index> makes that
// worker throw an uncaught error after its first report, <index>:exit makes it exit with code 3
// (no error event), so the tests see a worker really die both ways.
const crash = process.env.CHATSTORM_TEST_CRASH_WORKER?.split(':');
if (crash?.[0] === String(init.slice.index)) {
  setTimeout(() => {
    if (crash[1] === 'exit') process.exit(3);
    throw new Error(`test-only crash of worker ${init.slice.index} (CHATSTORM_TEST_CRASH_WORKER)`);
  }, init.reportMs + Math.max(0, startAt - clock.now()));
}
// Test-only (scenarios/test/runner-faults.test.ts): CHATSTORM_TEST_STALL_WORKER=<index>:<ms> blocks
// that worker's event loop for <ms> every 2 × <ms>, so the tests see a really saturated generator;
// <index>:<ms>:<freeMs> blocks it for <ms> after every <freeMs> it runs (a reader that is behind
// most of the time: scenarios/test/receive-backlog.test.ts).
const stall = process.env.CHATSTORM_TEST_STALL_WORKER?.split(':');
if (stall?.[0] === String(init.slice.index) && Number(stall[1]) > 0) {
  const stallMs = Number(stall[1]);
  const block = () => {
    const until = performance.now() + stallMs;
    while (performance.now() < until);
  };
  if (stall[2] === undefined) setInterval(block, stallMs * 2).unref();
  else {
    const freeMs = Number(stall[2]);
    const again = () => {
      block();
      setTimeout(again, freeMs).unref();
    };
    setTimeout(again, freeMs).unref();
  }
}
swarm.start();
await swarm.finished;
clearInterval(timer);
report(true);
// The main thread terminates this worker once it has the final report; keep-alive HTTP sockets
// would otherwise hold the thread open.
