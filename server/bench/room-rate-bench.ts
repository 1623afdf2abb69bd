// What the fleet-wide room rate costs SEND_MESSAGE: one node in this process, one raw WebSocket
// sender keeping WINDOW messages in flight, N messages to a room whose limit is never reached,
// first on the embedded store (local token bucket), then with --redis-url (one Redis script call
// per message). Prints wall time and this process's CPU per message for each (client and server
// share the process, so the difference is what Redis adds), Redis's own CPU per message, and
// writes JSON. Needs redis-server. Figures from a shared machine are rough.
//   node --import tsx server/bench/room-rate-bench.ts [N] [out.json]
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import { createRoom, createToken } from '../test/support/chat.ts';
import { RawChatSocket } from '../test/support/raw-socket.ts';
import { REDIS_SERVER, REDIS_SKIP, startRedis } from '../test/support/redis.ts';
import { startTestServer } from '../test/support/server.ts';

const count = Math.min(Number(process.argv[2] ?? 20_000), 200_000);
const out = process.argv[3] ?? 'room-rate-bench.json';
const WINDOW = 64;

if (REDIS_SKIP || spawnSync(REDIS_SERVER, ['--version']).error) {
  console.error(`${REDIS_SERVER} is not installed (apt-get install redis-server): this benchmark needs a real Redis`);
  process.exit(2);
}

async function redisCpuSeconds(url: string): Promise<number> {
  const client = new Redis(url);
  const info = await client.info('cpu');
  client.disconnect();
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1]);
  return field('used_cpu_user') + field('used_cpu_sys');
}

async function run(label: string, args: string[]) {
  const server = await startTestServer(['--bench', ...args]);
  try {
    const room = await createRoom(server, { maximumMessageRatePerSecond: 10_000_000 });
    const socket = await RawChatSocket.connect(server.wsUrl, (await createToken(server, room.arn, 'bench')).token);
    let answered = 0;
    let errors = 0;
    let sent = 0;
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    const sendOne = () => socket.send(`{"Action":"SEND_MESSAGE","RequestId":"${sent++}","Content":"hello"}`);
    socket.socket.on('message', (data) => {
      if (data.toString().startsWith('{"Type":"ERROR"')) errors++;
      if (++answered === count) done();
      else if (sent < count) sendOne();
    });
    const warm = Math.min(WINDOW, count);
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < warm; i++) sendOne();
    const timeout = setTimeout(() => done(), 120_000);
    await finished;
    clearTimeout(timeout);
    const wallUs = ((performance.now() - started) * 1000) / answered;
    const used = process.cpuUsage(cpu);
    const cpuUs = (used.user + used.system) / answered;
    socket.close();
    return { label, messages: answered, errors, wallMicrosecondsPerMessage: wallUs, processCpuMicrosecondsPerMessage: cpuUs };
  } finally {
    await server.stop();
  }
}

const redis = await startRedis();
try {
  const embedded = await run('embedded (local bucket)', []);
  const cpuBefore = await redisCpuSeconds(redis.url);
  const shared = await run('redis (shared bucket)', ['--redis-url', redis.url]);
  const redisCpuUs = ((await redisCpuSeconds(redis.url)) - cpuBefore) * 1e6 / shared.messages;
  const results = { count, window: WINDOW, embedded, shared: { ...shared, redisServerCpuMicrosecondsPerMessage: redisCpuUs } };
  for (const r of [embedded, shared]) {
    console.log(
      `${r.label.padEnd(26)} ${r.messages} messages (${r.errors} errors): ${r.wallMicrosecondsPerMessage.toFixed(1)} µs wall, ` +
        `${r.processCpuMicrosecondsPerMessage.toFixed(1)} µs CPU (sender + node) per message`,
    );
  }
  console.log(`redis-server CPU per message: ${redisCpuUs.toFixed(1)} µs`);
  console.log(
    `Redis room-rate check adds ${(shared.processCpuMicrosecondsPerMessage - embedded.processCpuMicrosecondsPerMessage).toFixed(1)} µs of node CPU ` +
      `and ${(shared.wallMicrosecondsPerMessage - embedded.wallMicrosecondsPerMessage).toFixed(1)} µs of wall time per message (window ${WINDOW})`,
  );
  writeFileSync(out, JSON.stringify(results, null, 2));
  console.log(`wrote ${out}`);
} finally {
  await redis.stop();
}
