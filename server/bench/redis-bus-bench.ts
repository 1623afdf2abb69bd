// What the Redis bus costs per cross-node message: node A publishes N ready-made MESSAGE frames to
// one room, node B listens to that room on a real redis-server and applies each frame to its
// (empty) topic. Socket writes are left out on purpose: they are the same with or without Redis.
// Prints CPU microseconds per message for the two nodes (both in this process) and for
// redis-server, against the embedded bus doing the same publishes; writes the figures as JSON.
//   node --import tsx server/bench/redis-bus-bench.ts [N] [out.json]
import { writeFileSync } from 'node:fs';
import { messageFrame } from '../src/messaging/frames.ts';
import type { TestServer } from '../test/support/server.ts';
import { startNodes } from '../test/support/nodes.ts';
import { REDIS_SKIP, startRedis, type TestRedis } from '../test/support/redis.ts';
import { startTestServer } from '../test/support/server.ts';

const count = Math.min(Number(process.argv[2] ?? 50_000), 500_000);
const out = process.argv[3] ?? 'redis-bus-bench.json';
const WINDOW = 500;
const ROOM = 'BenchRoom001';
if (REDIS_SKIP) {
  console.error(`cannot run: ${REDIS_SKIP}`);
  process.exit(2);
}

const frame = messageFrame({
  id: 'AbCdEfGhIjKl',
  requestId: 'bench-request',
  attributes: { sentAt: '1764403200000.123', seq: '12345' },
  content: 'x'.repeat(120),
  sendTime: new Date().toISOString(),
  sender: JSON.stringify({ UserId: 'bench-sender', Attributes: {} }),
});

async function redisCpuSeconds(redis: TestRedis): Promise<number> {
  const info = (await redis.client.info('cpu')) as string;
  const field = (name: string) => Number(new RegExp(`^${name}:(\\S+)`, 'm').exec(info)![1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

async function received(node: TestServer): Promise<number> {
  const metric = await node.ctx.metrics.busReceived.get();
  return metric.values.find((value) => value.labels.type === 'MESSAGE')?.value ?? 0;
}

async function publishAll(node: TestServer, n: number): Promise<void> {
  for (let sent = 0; sent < n; sent += WINDOW) {
    const batch: Array<Promise<void> | undefined> = [];
    for (let i = sent; i < Math.min(n, sent + WINDOW); i++) batch.push(node.ctx.bus.publish(ROOM, frame, 'MESSAGE'));
    await Promise.all(batch);
  }
}

// The embedded bus: the same publishes, applied in this process only.
const embedded = await startTestServer(['--bench']);
await publishAll(embedded, Math.min(count, 5000));
let cpu = process.cpuUsage();
let started = performance.now();
await publishAll(embedded, count);
let usage = process.cpuUsage(cpu);
const embeddedFigures = {
  cpuMicrosPerMessage: (usage.user + usage.system) / count,
  messagesPerSecond: count / ((performance.now() - started) / 1000),
};
await embedded.stop();

const redis = await startRedis();
const [a, b] = (await startNodes(2, redis.url, ['--bench'])) as [TestServer, TestServer];
await b.ctx.bus.subscribe(ROOM);
const warm = Math.min(count, 5000);
await publishAll(a, warm);
const deadline = Date.now() + 120_000;
const waitReceived = async (n: number) => {
  while ((await received(b)) < n) {
    if (Date.now() > deadline) throw new Error(`node B received ${await received(b)} of ${n} within the time limit`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
};
await waitReceived(warm);

const redisBefore = await redisCpuSeconds(redis);
cpu = process.cpuUsage();
started = performance.now();
let lastReport = started;
for (let sent = 0; sent < count; ) {
  const n = Math.min(10_000, count - sent);
  await publishAll(a, n);
  sent += n;
  if (performance.now() - lastReport > 1000) {
    lastReport = performance.now();
    process.stderr.write(`  published ${sent} of ${count}\n`);
  }
}
await waitReceived(warm + count);
const seconds = (performance.now() - started) / 1000;
usage = process.cpuUsage(cpu);
const redisSeconds = (await redisCpuSeconds(redis)) - redisBefore;
const failed = (await a.ctx.metrics.busFailed.get()).values.reduce((sum, value) => sum + value.value, 0);
await a.stop();
await b.stop();
await redis.stop();

const figures = {
  messages: count,
  frameBytes: Buffer.byteLength(frame),
  embedded: embeddedFigures,
  redis: {
    nodesCpuMicrosPerMessage: (usage.user + usage.system) / count,
    redisServerCpuMicrosPerMessage: (redisSeconds * 1e6) / count,
    messagesPerSecond: count / seconds,
    failed,
  },
};
console.log(`redis bus, ${count} MESSAGE frames of ${figures.frameBytes} bytes, publisher and one listening node in this process:`);
console.log(`  embedded bus:  ${figures.embedded.cpuMicrosPerMessage.toFixed(2)} µs CPU per message (${Math.round(figures.embedded.messagesPerSecond)} msg/s)`);
console.log(`  redis bus:     ${figures.redis.nodesCpuMicrosPerMessage.toFixed(2)} µs CPU per message in the two nodes`);
console.log(`                 + ${figures.redis.redisServerCpuMicrosPerMessage.toFixed(2)} µs in redis-server (${Math.round(figures.redis.messagesPerSecond)} msg/s end to end, ${failed} failed)`);
writeFileSync(out, `${JSON.stringify(figures, null, 2)}\n`);
console.log(`wrote ${out}`);
