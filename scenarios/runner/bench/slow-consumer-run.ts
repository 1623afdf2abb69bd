import type net from 'node:net';
import type { ChatSocket } from '../../lib/ports.ts';
import type { ChatstormControlPlane } from '../chatstorm-control-plane.ts';
import { RawTransport } from '../raw-transport.ts';
import { watchRss } from './process-memory.ts';
import { Samples, scrapeSeries } from './stats.ts';
import { attemptUpgrade } from './upgrade-attempt.ts';

// Part (c) of bench:floods: one room of viewers chatted to at a fixed rate, first as it is, then
// with one more viewer that stops reading. Measured: when the server cuts the slow one and what
// close it sees, the server's peak RSS, and the other viewers' delivery latency (send to arrival,
// one clock) and completeness in both phases.

export interface SlowConsumerOptions {
  port: number;
  pid: number;
  metricsUrl: string;
  control: ChatstormControlPlane;
  viewers: number;
  messagesPerSecond: number;
  contentBytes: number;
  phaseSeconds: number;
  /** Give up on the cut after this long (the target is then missed). */
  cutTimeoutSeconds: number;
  progress: (line: string) => void;
}

export interface SlowPhase {
  slowViewer: boolean;
  sent: number;
  /** Viewers that received every message sent in the phase, exactly once. */
  completeViewers: number;
  missing: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  peakRssBytes: number;
}

export interface SlowConsumerResult {
  viewers: number;
  frameBytes: number;
  phases: SlowPhase[];
  cut: {
    /** Seconds from the viewer's last read to the server counting it cut; undefined if never. */
    afterSeconds: number | undefined;
    /** Bytes the slow viewer read once it resumed: what the kernel and the server still held for it. */
    bytesReadAfterResume: number;
    /** The close the slow viewer sees once it reads again: a close frame's code, or 1006 when the stream just ends. */
    closeCode: number | undefined;
    closedReasonSlowConsumer: number;
    /** The most chatstorm_backpressure_buffered_bytes showed while polled (every ~100 ms, sampled by the server each second). */
    maxServerBufferedBytes: number;
  };
  /** p99 with the slow viewer / p99 without. */
  p99Ratio: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const REQUEST_ID = Buffer.from('"RequestId":"');

/** The numeric RequestId of a MESSAGE frame, read off the bytes without decoding the frame. */
function sequenceOf(frame: Uint8Array): number {
  const buf = Buffer.isBuffer(frame) ? frame : Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength);
  const at = buf.indexOf(REQUEST_ID);
  if (at < 0) return -1;
  let n = 0;
  for (let i = at + REQUEST_ID.length; i < buf.length; i++) {
    const c = buf[i]!;
    if (c < 0x30 || c > 0x39) return n;
    n = n * 10 + (c - 0x30);
  }
  return -1;
}

/** The first close frame's code in a server-to-client byte stream, or 1006 when there is none. */
function closeCodeIn(stream: Buffer): number {
  let i = 0;
  while (i + 2 <= stream.length) {
    const opcode = stream[i]! & 0x0f;
    let length = stream[i + 1]! & 0x7f;
    let header = 2;
    if (length === 126) {
      length = stream.readUInt16BE(i + 2);
      header = 4;
    } else if (length === 127) {
      length = Number(stream.readBigUInt64BE(i + 2));
      header = 10;
    }
    if (i + header + length > stream.length) break;
    if (opcode === 0x8) return length >= 2 ? stream.readUInt16BE(i + header) : 1005;
    i += header + length;
  }
  return 1006;
}

export async function runSlowConsumer(o: SlowConsumerOptions): Promise<SlowConsumerResult> {
  const room = await o.control.createRoom('slow-consumer', Math.max(100, o.messagesPerSecond * 2));
  const mint = (userId: string, capabilities: ('SEND_MESSAGE')[] = []) =>
    o.control.createChatToken({ roomArn: room.arn, userId, capabilities, sessionDurationInMinutes: 180 });
  const wsUrl = `ws://127.0.0.1:${o.port}/`;
  const transport = new RawTransport();

  // sentAt[seq] on this process's clock; each viewer notes arrivals of the current phase.
  let sentAt = new Float64Array(0);
  let latencies = new Samples();
  let received: Uint32Array[] = [];
  let frameBytes = 0;
  let senderErrors = 0;
  const open = (userId: string, index: number, capabilities: ('SEND_MESSAGE')[] = []) =>
    mint(userId, capabilities).then(
      (token) =>
        new Promise<ChatSocket>((resolve, reject) => {
          const socket = transport.open(wsUrl, token, {
            onOpen: () => resolve(socket),
            onMessage: (data) => {
              if (typeof data === 'string') return;
              if (index < 0) {
                if (Buffer.from(data.buffer, data.byteOffset, data.byteLength).includes('"Type":"ERROR"')) senderErrors++;
                return;
              }
              const seq = sequenceOf(data);
              if (seq < 0 || seq >= sentAt.length) return;
              frameBytes = data.byteLength;
              received[index]![seq]!++;
              latencies.add(performance.now() - sentAt[seq]!);
            },
            onClose: (code, refused) => reject(new Error(`${userId} closed (${code}${refused ? ', refused' : ''})`)),
          });
        }),
    );

  o.progress(`connecting ${o.viewers} viewers and a sender`);
  const viewers: ChatSocket[] = [];
  for (let i = 0; i < o.viewers; i += 50) {
    viewers.push(...(await Promise.all(Array.from({ length: Math.min(50, o.viewers - i) }, (_, k) => open(`viewer-${i + k}`, i + k)))));
  }
  const sender = await open('sender', -1, ['SEND_MESSAGE']);
  const content = 'x'.repeat(o.contentBytes);

  const phases: SlowPhase[] = [];
  let cutAfter: number | undefined;
  let maxBuffered = 0;
  let slowSocket: net.Socket | undefined;
  const slowBytes: Buffer[] = [];
  for (const slowViewer of [false, true]) {
    const seconds = slowViewer ? o.cutTimeoutSeconds : o.phaseSeconds;
    const capacity = Math.ceil(o.messagesPerSecond * (seconds + o.phaseSeconds + 5));
    sentAt = new Float64Array(capacity);
    received = Array.from({ length: o.viewers }, () => new Uint32Array(capacity));
    latencies = new Samples();
    const rss = watchRss(o.pid);
    let stoppedReadingAt = 0;
    if (slowViewer) {
      const answer = await attemptUpgrade({
        port: o.port,
        token: await mint('slow'),
        keep: (socket, rest) => {
          socket.pause();
          slowBytes.push(rest);
          slowSocket = socket;
        },
      });
      if (answer.status !== 101) throw new Error(`the slow viewer was refused: ${answer.status} ${answer.body}`);
      stoppedReadingAt = performance.now();
    }
    const started = performance.now();
    let sent = 0;
    // The phase runs its seconds; with the slow viewer, until it is cut and then phaseSeconds more.
    let endAt = started + (slowViewer ? o.cutTimeoutSeconds : o.phaseSeconds) * 1000;
    let lastPoll = 0;
    while (performance.now() < endAt && sent < capacity) {
      const due = Math.min(capacity, Math.floor(((performance.now() - started) / 1000) * o.messagesPerSecond) + 1);
      while (sent < due) {
        sentAt[sent] = performance.now();
        sender.send(`{"Action":"SEND_MESSAGE","RequestId":"${sent}","Content":"${content}"}`);
        sent++;
      }
      if (slowViewer && cutAfter === undefined && performance.now() - lastPoll > 100) {
        lastPoll = performance.now();
        const cut = await scrapeSeries(o.metricsUrl, ['chatstorm_slow_consumers_total{action="closed"}', 'chatstorm_backpressure_buffered_bytes']);
        maxBuffered = Math.max(maxBuffered, cut['chatstorm_backpressure_buffered_bytes']!);
        if (cut['chatstorm_slow_consumers_total{action="closed"}']! >= 1) {
          cutAfter = (performance.now() - stoppedReadingAt) / 1000;
          endAt = performance.now() + o.phaseSeconds * 1000;
          o.progress(`the slow viewer was cut ${cutAfter.toFixed(1)} s after it stopped reading`);
        }
      }
      await sleep(5);
    }
    // Everything sent must arrive at every viewer; wait for it, with a deadline.
    const deadline = performance.now() + 15_000;
    const complete = () => received.filter((counts) => counts.subarray(0, sent).every((c) => c === 1)).length;
    while (complete() < o.viewers && performance.now() < deadline) await sleep(50);
    const missing = received.reduce((sum, counts) => sum + counts.subarray(0, sent).filter((c) => c === 0).length, 0);
    const [p50, p99, max] = latencies.percentiles(50, 99, 100);
    phases.push({ slowViewer, sent, completeViewers: complete(), missing, p50Ms: p50!, p99Ms: p99!, maxMs: max!, peakRssBytes: rss.stop() });
    if (senderErrors > 0) throw new Error(`the sender got ${senderErrors} ERROR frames: the room refuses these messages (length, rate?)`);
    o.progress(`${slowViewer ? 'with' : 'without'} the slow viewer: ${sent} messages, p99 ${p99!.toFixed(2)} ms, ${complete()}/${o.viewers} viewers got all`);
  }

  // Read again: what did the slow viewer get, and how did its connection end?
  let closeCode: number | undefined;
  let bytesRead = 0;
  if (slowSocket) {
    const socket = slowSocket;
    const ended = new Promise<void>((resolve) => {
      socket.on('data', (chunk: Buffer) => {
        bytesRead += chunk.length;
        slowBytes.push(chunk);
      });
      socket.on('close', () => resolve());
      socket.on('error', () => {});
    });
    socket.resume();
    const closed = await Promise.race([ended.then(() => true), sleep(20_000).then(() => false)]);
    socket.destroy();
    if (closed) closeCode = closeCodeIn(Buffer.concat(slowBytes));
  }
  const final = await scrapeSeries(o.metricsUrl, ['chatstorm_connections_closed_total{reason="slow_consumer"}']);
  for (const viewer of viewers) viewer.close();
  sender.close();
  return {
    viewers: o.viewers,
    frameBytes,
    phases,
    cut: {
      afterSeconds: cutAfter,
      bytesReadAfterResume: bytesRead,
      closeCode,
      closedReasonSlowConsumer: final['chatstorm_connections_closed_total{reason="slow_consumer"}']!,
      maxServerBufferedBytes: maxBuffered,
    },
    p99Ratio: phases[1]!.p99Ms / phases[0]!.p99Ms,
  };
}
