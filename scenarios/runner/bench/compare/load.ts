import type { Worker } from 'node:worker_threads';
import type { ChatSocket } from '../../../lib/ports.ts';
import { ChatstormControlPlane } from '../../chatstorm-control-plane.ts';
import { RawTransport } from '../../raw-transport.ts';
import { startTsWorker } from '../../ts-worker.ts';
import { Samples } from '../stats.ts';
import { kernelQueues, type KernelQueues } from './kernel-queues.ts';
import type { ReceiverOrder, ReceiverTake } from './receiver-worker.ts';
import { processCpuSeconds, type Target } from './targets.ts';

// One audience on one target: rooms of raw-socket viewers (in receiver threads) and one chatter
// per room (on this thread) that sends SEND_MESSAGE open-loop at a fixed total rate, spread over
// the rooms in turn. A window of load is measured from both ends: deliveries and latency at the
// receivers, CPU of the server (/proc) and of this process, and where any backlog sat.

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

const CONTENT = 'chatstorm load message '.repeat(3).slice(0, 64);
const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

export interface WindowResult {
  rate: number;
  seconds: number;
  sent: number;
  /** Sends refused by the server with an ERROR frame. */
  errors: number;
  expected: number;
  delivered: number;
  deliveredShare: number;
  deliveriesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  serverCpuPercent: number;
  serverCpuMicrosPerDelivery: number;
  generatorCpuPercent: number;
  /** Largest sums seen over the window (sampled once a second). */
  maxQueues: KernelQueues & { serverProcessBuffered: number };
  viewersOpen: number;
  viewersCut: number;
  frameBytes: [number, number];
}

export interface SecondSample {
  second: number;
  rate: number;
  p99Ms: number;
  frames: number;
}

export class Audience {
  private workers: Worker[] = [];
  private chatters: ChatSocket[] = [];
  private nextId = 0;
  private errors = 0;
  private seq = 0;
  viewers = 0;
  rooms = 0;

  constructor(
    private readonly target: Target,
    private readonly threads: number,
  ) {}

  private ask<T>(worker: Worker, order: DistributiveOmit<ReceiverOrder, 'id'>): Promise<T> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      const listener = (reply: { id: number }) => {
        if (reply.id !== id) return;
        worker.off('message', listener);
        resolve(reply as T);
      };
      worker.on('message', listener);
      worker.postMessage({ ...order, id });
    });
  }

  /** rooms × viewersPerRoom receivers plus one chatter per room; returns how many viewers opened. */
  async connect(rooms: number, viewersPerRoom: number, probeEvery: number): Promise<number> {
    const control = new ChatstormControlPlane(this.target.url);
    try {
      const refs = [];
      for (let r = 0; r < rooms; r++) refs.push(await control.createRoom(`compare-${r}`, 1_000_000));
      const tokens: string[] = [];
      for (let i = 0; i < rooms * viewersPerRoom; i += 64) {
        const batch = [];
        for (let k = i; k < Math.min(i + 64, rooms * viewersPerRoom); k++) {
          batch.push(control.createChatToken({ roomArn: refs[k % rooms]!.arn, userId: `viewer-${k}`, capabilities: [], sessionDurationInMinutes: 180 }));
        }
        tokens.push(...(await Promise.all(batch)));
      }
      const chatterTokens = await Promise.all(
        refs.map((ref, r) => control.createChatToken({ roomArn: ref.arn, userId: `chatter-${r}`, capabilities: ['SEND_MESSAGE'], sessionDurationInMinutes: 180 })),
      );
      const transport = new RawTransport(30_000);
      const wsUrl = `${this.target.url.replace(/^http/, 'ws')}/`;
      let opened = 0;
      this.chatters = chatterTokens.map((token) =>
        transport.open(wsUrl, token, {
          onOpen: () => opened++,
          onMessage: (data) => {
            // The chatter gets its own messages back; an ERROR frame is a refused send.
            const b = data as Buffer;
            if (b[9] === 0x45 /* "E" of {"Type":"ERROR" */) this.errors++;
          },
          onClose: () => {},
        }),
      );
      while (this.workers.length < this.threads) this.workers.push(startTsWorker(new URL('./receiver-worker.ts', import.meta.url)));
      const replies = await Promise.all(
        this.workers.map((w, t) =>
          this.ask<{ open: number }>(w, {
            op: 'connect',
            url: this.target.url,
            tokens: tokens.filter((_, k) => k % this.threads === t),
            probeEvery,
            maxConnecting: 256,
            timeoutMs: 120_000,
          }),
        ),
      );
      const deadline = performance.now() + 30_000;
      while (opened < rooms && performance.now() < deadline) await sleep(20);
      if (opened < rooms) throw new Error(`only ${opened} of ${rooms} chatters connected to ${this.target.name}`);
      this.rooms = rooms;
      this.viewers = viewersPerRoom;
      return replies.reduce((n, r) => n + r.open, 0);
    } finally {
      control.close();
    }
  }

  async take(): Promise<ReceiverTake> {
    const takes = await Promise.all(this.workers.map((w) => this.ask<ReceiverTake>(w, { op: 'take' })));
    const merged: ReceiverTake = { id: 0, frames: 0, bytes: 0, minFrame: Infinity, maxFrame: 0, latencies: new Float64Array(0), open: 0, closed: {}, failed: 0 };
    const parts: Float64Array[] = [];
    for (const t of takes) {
      merged.frames += t.frames;
      merged.bytes += t.bytes;
      merged.minFrame = Math.min(merged.minFrame, t.minFrame);
      merged.maxFrame = Math.max(merged.maxFrame, t.maxFrame);
      merged.open += t.open;
      merged.failed += t.failed;
      for (const [code, n] of Object.entries(t.closed)) merged.closed[code] = (merged.closed[code] ?? 0) + n;
      parts.push(t.latencies);
    }
    merged.latencies = new Float64Array(parts.reduce((n, p) => n + p.length, 0));
    let at = 0;
    for (const p of parts) {
      merged.latencies.set(p, at);
      at += p.length;
    }
    return merged;
  }

  private send(room: number): void {
    const n = ++this.seq;
    this.chatters[room]!.send(`{"Action":"SEND_MESSAGE","RequestId":"r${n}","Content":"${CONTENT}","Attributes":{"t":"${now().toFixed(3)}"}}`);
  }

  /**
   * Sends `rate` messages a second in total for `seconds`, open-loop (late ticks catch up), then
   * waits for the receivers to go quiet (at most drainMs). `onSecond` gets a sample each second.
   */
  async window(rate: number, seconds: number, options: { drainMs?: number; onSecond?: (s: SecondSample) => void } = {}): Promise<WindowResult> {
    await this.take();
    const errorsBefore = this.errors;
    const cpu0 = processCpuSeconds(this.target.pid);
    const gen0 = process.cpuUsage();
    const started = performance.now();
    const maxQueues = { serverSendQ: 0, serverRecvQ: 0, clientRecvQ: 0, serverProcessBuffered: 0 };
    const latencies = new Samples();
    let frames = 0;
    let minFrame = Infinity;
    let maxFrame = 0;
    let last: ReceiverTake | undefined;
    const absorb = (t: ReceiverTake) => {
      frames += t.frames;
      minFrame = Math.min(minFrame, t.minFrame);
      maxFrame = Math.max(maxFrame, t.maxFrame);
      for (const v of t.latencies) latencies.add(v);
      last = t;
    };
    let sampling = false;
    const sampleQueues = async () => {
      if (sampling) return;
      sampling = true;
      try {
        const [k, buffered] = await Promise.all([kernelQueues(this.target.port), this.target.bufferedBytes().catch(() => NaN)]);
        maxQueues.serverSendQ = Math.max(maxQueues.serverSendQ, k.serverSendQ);
        maxQueues.serverRecvQ = Math.max(maxQueues.serverRecvQ, k.serverRecvQ);
        maxQueues.clientRecvQ = Math.max(maxQueues.clientRecvQ, k.clientRecvQ);
        maxQueues.serverProcessBuffered = Math.max(maxQueues.serverProcessBuffered, buffered);
      } finally {
        sampling = false;
      }
    };
    const total = Math.round(rate * seconds);
    let sent = 0;
    let nextSecond = 1;
    while (sent < total) {
      const elapsed = (performance.now() - started) / 1000;
      const due = Math.min(total, Math.floor(elapsed * rate) + 1);
      while (sent < due) this.send(sent++ % this.rooms);
      if (elapsed >= nextSecond) {
        nextSecond++;
        void sampleQueues();
        const t = await this.take();
        absorb(t);
        if (options.onSecond) {
          const s = new Samples();
          for (const v of t.latencies) s.add(v);
          options.onSecond({ second: nextSecond - 1, rate, p99Ms: s.percentiles(99)[0]!, frames: t.frames });
        }
      }
      await sleep(1);
    }
    const sendSeconds = (performance.now() - started) / 1000;
    // Drain: what is still on its way belongs to this window.
    const drainDeadline = performance.now() + (options.drainMs ?? 5000);
    void sampleQueues();
    absorb(await this.take());
    // drainMs 0: the next window follows at once and takes what is still on its way.
    while (options.drainMs !== 0) {
      await sleep(200);
      const t = await this.take();
      absorb(t);
      if (t.frames === 0 || performance.now() > drainDeadline) break;
    }
    const cpu = processCpuSeconds(this.target.pid) - cpu0;
    const gen = process.cpuUsage(gen0);
    const wall = (performance.now() - started) / 1000;
    const [p50, p99, max] = latencies.percentiles(50, 99, 100);
    const expected = sent * this.viewers;
    const cut = Object.values(last?.closed ?? {}).reduce((a, b) => a + b, 0);
    return {
      rate,
      seconds: sendSeconds,
      sent,
      errors: this.errors - errorsBefore,
      expected,
      delivered: frames,
      deliveredShare: expected ? frames / expected : NaN,
      deliveriesPerSecond: frames / sendSeconds,
      p50Ms: p50!,
      p99Ms: p99!,
      maxMs: max!,
      serverCpuPercent: (cpu / wall) * 100,
      serverCpuMicrosPerDelivery: frames ? (cpu / frames) * 1e6 : NaN,
      generatorCpuPercent: ((gen.user + gen.system) / 1e6 / wall) * 100,
      maxQueues,
      viewersOpen: last?.open ?? 0,
      viewersCut: cut,
      frameBytes: [minFrame, maxFrame],
    };
  }

  async close(): Promise<void> {
    for (const c of this.chatters) c.close();
    this.chatters = [];
    await Promise.all(this.workers.map((w) => this.ask(w, { op: 'close' })));
    await Promise.all(this.workers.map((w) => w.terminate()));
    this.workers = [];
  }
}
