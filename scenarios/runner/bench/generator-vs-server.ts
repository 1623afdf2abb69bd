import { resolveProfile } from '../../lib/profile.ts';
import type { DeliveryLog } from '../../lib/ports.ts';
import { Plan } from '../../lib/schedule.ts';
import { Swarm } from '../../lib/swarm.ts';
import { ChatstormControlPlane } from '../chatstorm-control-plane.ts';
import { startEmbeddedServer } from '../embedded-server.ts';
import { RawTransport } from '../raw-transport.ts';
import { WorkerMetrics } from '../worker-metrics.ts';
import { processCpuSeconds } from './compare/targets.ts';

// Generator CPU per delivery against chatstorm's CPU per delivery, in one run, at the same shape:
// chatstorm (--bench) on the server core, real chatters and viewers of this process (raw
// transport) on the generator core, the same load read once in counting mode and once with full
// decode. The target: generator ≤ server per delivery, so one generator core saturates one
// server core.

export interface Shape {
  name: string;
  rooms: number;
  viewers: number;
  chattersPerRoom: number;
  /** Messages per second per chatter. */
  rate: number;
}

export interface ModeFigures {
  mode: 'count' | 'full';
  decodeEvery: number;
  seconds: number;
  deliveries: number;
  deliveriesPerSecond: number;
  generatorCpuPercent: number;
  serverCpuPercent: number;
  generatorMicrosPerDelivery: number;
  serverMicrosPerDelivery: number;
  /** generator ÷ server: ≤ 1 meets the target. */
  ratio: number;
  /** Frames per socket read is not observable here; this is deliveries per second per socket. */
  framesPerSocketSecond: number;
}

export interface ShapeFigures extends Shape {
  modes: ModeFigures[];
}

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(what: string, check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

async function measureMode(url: string, pid: number, shape: Shape, decodeEvery: number, seconds: number, tag: string): Promise<ModeFigures> {
  const profile = resolveProfile(
    { name: `generator-vs-server-${shape.name}`, description: 'generator benchmark' },
    {
      viewers: shape.viewers,
      rooms: shape.rooms,
      chattersPerRoom: shape.chattersPerRoom,
      rate: shape.rate,
      duration: '1h',
      rampUp: '0s',
      drain: '0s',
      thresholds: [],
    },
  );
  const control = new ChatstormControlPlane(url);
  const rooms = await Promise.all(Array.from({ length: shape.rooms }, (_, r) => control.createRoom(`gvs-${tag.replace(/[^A-Za-z0-9_-]/g, '-')}-${r}`, 100_000)));
  const metrics = new WorkerMetrics();
  const transport = new RawTransport();
  const discard: DeliveryLog = { sent() {}, resolved() {}, closed() {} };
  const swarm = new Swarm({
    plan: new Plan(profile),
    slice: { index: 0, count: 1 },
    rooms,
    wsUrl: url.replace('http', 'ws') + '/',
    startAt: now(),
    clock: { now },
    ticker: { every: (ms, fn) => setInterval(fn, ms), cancel: (h) => clearInterval(h as NodeJS.Timeout) },
    transport,
    control,
    metrics,
    log: discard,
    maxConnecting: 200,
    decodeEvery,
  });
  swarm.start();
  try {
    await waitFor(`${shape.viewers} viewers connected`, () => swarm.connected >= shape.viewers, 180_000);
    await sleep(1500);
    metrics.take();
    transport.takeTotals();
    const cpu = process.cpuUsage();
    const serverCpu = processCpuSeconds(pid);
    const started = performance.now();
    await sleep(seconds * 1000);
    const wall = (performance.now() - started) / 1000;
    const used = process.cpuUsage(cpu);
    const serverSeconds = processCpuSeconds(pid) - serverCpu;
    const t = transport.takeTotals();
    const deliveries = metrics.take().frames + t.frames - t.decoded;
    const generatorSeconds = (used.user + used.system) / 1e6;
    const per = (cpuSeconds: number) => (deliveries > 0 ? (cpuSeconds * 1e6) / deliveries : Number.NaN);
    return {
      mode: decodeEvery > 0 ? 'count' : 'full',
      decodeEvery: decodeEvery > 0 ? decodeEvery : 1,
      seconds: wall,
      deliveries,
      deliveriesPerSecond: deliveries / wall,
      generatorCpuPercent: (generatorSeconds / wall) * 100,
      serverCpuPercent: (serverSeconds / wall) * 100,
      generatorMicrosPerDelivery: per(generatorSeconds),
      serverMicrosPerDelivery: per(serverSeconds),
      ratio: serverSeconds > 0 ? generatorSeconds / serverSeconds : Number.NaN,
      framesPerSocketSecond: deliveries / wall / shape.viewers,
    };
  } finally {
    swarm.abort();
    await Promise.race([swarm.finished, sleep(15_000)]);
    await Promise.allSettled(rooms.map((r) => control.deleteRoom(r.arn)));
    control.close();
  }
}

/** Both modes for each shape, a fresh chatstorm per shape on `serverCores`. */
export async function generatorVsServer(shapes: Shape[], seconds: number, decodeEvery: number, serverCores: string | undefined, log: (line: string) => void): Promise<ShapeFigures[]> {
  const out: ShapeFigures[] = [];
  for (const shape of shapes) {
    const server = await startEmbeddedServer(serverCores ? { cores: serverCores } : {});
    try {
      const modes: ModeFigures[] = [];
      for (const every of [decodeEvery, 0]) {
        log(`  ${shape.name}: ${shape.viewers} viewers in ${shape.rooms} room(s), ${shape.chattersPerRoom} chatter(s)/room at ${shape.rate} msg/s, ${every > 0 ? `counting (1 in ${every} decoded)` : 'full decode'}…`);
        modes.push(await measureMode(server.url, server.pid, shape, every, seconds, `${shape.name}-${every}`));
      }
      out.push({ ...shape, modes });
    } finally {
      await server.stop();
    }
  }
  return out;
}
