import type net from 'node:net';
import { ChatstormControlPlane } from '../../chatstorm-control-plane.ts';
import { atRate } from '../at-rate.ts';
import { processMemory } from '../process-memory.ts';
import { Samples } from '../stats.ts';
import { attemptUpgrade } from '../upgrade-attempt.ts';
import { processCpuSeconds, type Target } from './targets.ts';

// The connection workloads of bench:compare on one target: tokens minted through CreateChatToken
// (rate, server CPU each), then a storm of handshakes at a fixed rate (server CPU each, over the
// server's idle cost), then the same sockets held idle (RSS each).

export interface ConnectionsResult {
  tokens: number;
  tokensPerSecond: number;
  serverCpuMicrosPerToken: number;
  handshakes: number;
  accepted: number;
  handshakeRate: number;
  handshakeP50Ms: number;
  handshakeP99Ms: number;
  serverCpuMicrosPerHandshake: number;
  idleConnections: number;
  rssBytesBefore: number;
  rssBytesHeld: number;
  rssBytesPerConnection: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The server's CPU seconds per wall second while nothing happens: what a window's figure is net of. */
async function idleCpuRate(pid: number, ms: number): Promise<number> {
  const c0 = processCpuSeconds(pid);
  const t0 = performance.now();
  await sleep(ms);
  return (processCpuSeconds(pid) - c0) / ((performance.now() - t0) / 1000);
}

async function mint(control: ChatstormControlPlane, roomArn: string, count: number, prefix: string): Promise<string[]> {
  const tokens: string[] = [];
  for (let i = 0; i < count; i += 64) {
    const batch = [];
    for (let k = i; k < Math.min(i + 64, count); k++) batch.push(control.createChatToken({ roomArn, userId: `${prefix}-${k}`, capabilities: [], sessionDurationInMinutes: 180 }));
    tokens.push(...(await Promise.all(batch)));
  }
  return tokens;
}

/** One upgrade per token at `rate` a second, open-loop; the accepted sockets are kept open (idle). */
async function storm(target: Target, tokens: string[], rate: number): Promise<{ accepted: number; latencies: Samples; sockets: net.Socket[] }> {
  const latencies = new Samples();
  const sockets: net.Socket[] = [];
  let accepted = 0;
  const pending: Promise<void>[] = [];
  await atRate(rate, tokens.length / rate, (i) => {
    pending.push(
      attemptUpgrade({
        port: target.port,
        token: tokens[i]!,
        timeoutMs: 30_000,
        keep: (socket) => {
          socket.on('data', () => {});
          sockets.push(socket);
        },
      }).then((answer) => {
        if (answer.status !== 101) return;
        accepted++;
        latencies.add(answer.ms);
      }),
    );
  });
  await Promise.all(pending);
  return { accepted, latencies, sockets };
}

export async function runConnections(target: Target, o: { connections: number; rate: number; settleMs: number; idleMs: number }): Promise<ConnectionsResult> {
  const control = new ChatstormControlPlane(target.url);
  const sockets: net.Socket[] = [];
  try {
    const room = await control.createRoom('connections', 10);
    const idle = await idleCpuRate(target.pid, o.idleMs);
    const c0 = processCpuSeconds(target.pid);
    const t0 = performance.now();
    const tokens = await mint(control, room.arn, o.connections, 'idle');
    const mintSeconds = (performance.now() - t0) / 1000;
    const mintCpu = processCpuSeconds(target.pid) - c0 - idle * mintSeconds;

    // A warm-up storm, closed again: the handshake path compiled and the heap grown to its
    // working size, so the measured storm shows the steady cost of a connection, not first-time
    // costs (which made RSS per connection swing, even below zero, between runs).
    const warm = await storm(target, await mint(control, room.arn, Math.ceil(o.connections / 5), 'warm'), o.rate);
    for (const s of warm.sockets) s.destroy();
    control.close();
    await sleep(o.settleMs);
    const before = processMemory(target.pid).rssBytes;
    const c1 = processCpuSeconds(target.pid);
    const t1 = performance.now();
    const { accepted, latencies, sockets: opened } = await storm(target, tokens, o.rate);
    sockets.push(...opened);
    const stormSeconds = (performance.now() - t1) / 1000;
    const stormCpu = processCpuSeconds(target.pid) - c1 - idle * stormSeconds;
    await sleep(o.settleMs);
    const held = processMemory(target.pid).rssBytes;
    const [p50, p99] = latencies.percentiles(50, 99);
    return {
      tokens: tokens.length,
      tokensPerSecond: tokens.length / mintSeconds,
      serverCpuMicrosPerToken: (mintCpu / tokens.length) * 1e6,
      handshakes: o.connections,
      accepted,
      handshakeRate: o.rate,
      handshakeP50Ms: p50!,
      handshakeP99Ms: p99!,
      serverCpuMicrosPerHandshake: accepted ? (stormCpu / accepted) * 1e6 : NaN,
      idleConnections: accepted,
      rssBytesBefore: before,
      rssBytesHeld: held,
      rssBytesPerConnection: accepted ? (held - before) / accepted : NaN,
    };
  } finally {
    control.close();
    for (const s of sockets) s.destroy();
    await sleep(200);
  }
}
