import { lookup } from 'node:dns/promises';
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';

// Where a backlog sits, as the kernel sees it. Bytes the server has sent that wait unread in the
// generator's receive queues mean the generator reads late; latency that grows while those stay
// empty means the server is late (its send queues, its own receive queue of SEND_MESSAGEs, or its
// event loop). The generator's CPU cannot tell the two apart: a raw-socket reader at 95 % CPU may
// still read every frame within a few ms, it just reads more frames per read.
//
// Read from /proc/net/tcp and /proc/net/tcp6 (Linux): the same table `ss` prints, without a
// process per sample. The tables list every socket of the network namespace: other programs'
// connections to the same target address and port (another runner, a shard) count too.

/** Summed queues of ESTABLISHED sockets; `server*` are null when no socket here has the target as its local end (the server is elsewhere). */
export interface TcpQueues {
  /** rx_queue of sockets whose remote end is a target: bytes that reached the generator and wait for it. */
  clientRecvBytes: number;
  /** tx_queue of sockets whose local end is a target: bytes the server has queued towards its clients (unsent or unacknowledged). */
  serverSendBytes: number | null;
  /** rx_queue of the same: bytes (SEND_MESSAGEs, pings) the server has not read yet. */
  serverRecvBytes: number | null;
  /** Sockets matched on each side. */
  clientSockets: number;
  serverSockets: number;
  /** Sockets listed in all: what reading the tables costs is proportional to it. */
  lines: number;
}

/**
 * An endpoint as /proc writes it: the address as the kernel's 32-bit words in host byte order
 * (8 hex digits for IPv4, 32 for IPv6), '' for any address, and the port as 4 hex digits.
 */
export interface ProcEndpoint {
  address: string;
  port: string;
}

const LITTLE_ENDIAN = os.endianness() === 'LE';

function words(bytes: Uint8Array): string {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let out = '';
  for (let k = 0; k < bytes.length; k += 4) out += view.getUint32(k, LITTLE_ENDIAN).toString(16).toUpperCase().padStart(8, '0');
  return out;
}

function ipv6Bytes(address: string): Uint8Array {
  const bytes = new Uint8Array(16);
  let text = address.split('%')[0]!;
  // A trailing dotted quad (::ffff:127.0.0.1) is the last two groups.
  const quad = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (quad) {
    const [a, b, c, d] = quad[1]!.split('.').map(Number) as [number, number, number, number];
    text = text.slice(0, -quad[1]!.length) + `${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const left = head ? head.split(':') : [];
  const right = tail ? tail.split(':') : [];
  const groups = tail === undefined ? left : [...left, ...Array<string>(8 - left.length - right.length).fill('0'), ...right];
  groups.forEach((g, k) => {
    const v = parseInt(g, 16);
    bytes[2 * k] = v >> 8;
    bytes[2 * k + 1] = v & 0xff;
  });
  return bytes;
}

/** The forms `address` takes in /proc/net/tcp (IPv4) and tcp6 (IPv6, and IPv4 as ::ffff:a.b.c.d on dual-stack sockets). */
export function procAddresses(address: string): string[] {
  if (net.isIPv4(address)) {
    const v4 = Uint8Array.from(address.split('.').map(Number));
    return [words(v4), words(ipv6Bytes(`::ffff:${address}`))];
  }
  if (net.isIPv6(address)) return [words(ipv6Bytes(address))];
  throw new Error(`not an IP address: ${address}`);
}

export function procPort(port: number): string {
  return port.toString(16).toUpperCase().padStart(4, '0');
}

const ESTABLISHED_0 = 0x30; // '0'
const ESTABLISHED_1 = 0x31; // '1'

function matchAt(text: string, at: number, addressLength: number, endpoints: readonly ProcEndpoint[]): boolean {
  for (const e of endpoints) {
    if (text.startsWith(e.port, at + addressLength + 1) && (e.address === '' || text.startsWith(e.address, at))) return true;
  }
  return false;
}

/**
 * Adds the queues of one /proc/net/tcp or tcp6 text to `into`. Hand-written on purpose: at 16,000
 * viewers with the server on the same machine this reads ~32,000 lines a second, so it walks the
 * text by offsets (the kernel's fixed layout after "sl:") and allocates nothing per line.
 */
export function addTcpQueues(text: string, targets: readonly ProcEndpoint[], into: TcpQueues): TcpQueues {
  let line = text.indexOf('\n') + 1; // the header
  let clientRecv = 0;
  let serverSend = 0;
  let serverRecv = 0;
  while (line > 0 && line < text.length) {
    const next = text.indexOf('\n', line);
    const colon = text.indexOf(':', line);
    if (colon < 0 || (next >= 0 && colon > next)) break;
    into.lines++;
    const local = colon + 2;
    const space = text.indexOf(' ', local);
    const addressLength = space - local - 5; // ADDR:PORT
    const remote = space + 1;
    const state = remote + addressLength + 6;
    if (text.charCodeAt(state) === ESTABLISHED_0 && text.charCodeAt(state + 1) === ESTABLISHED_1) {
      const queues = state + 3; // tx_queue:rx_queue, 8 hex digits each
      if (matchAt(text, remote, addressLength, targets)) {
        clientRecv += parseInt(text.slice(queues + 9, queues + 17), 16);
        into.clientSockets++;
      } else if (matchAt(text, local, addressLength, targets)) {
        serverSend += parseInt(text.slice(queues, queues + 8), 16);
        serverRecv += parseInt(text.slice(queues + 9, queues + 17), 16);
        into.serverSockets++;
      }
    }
    line = next < 0 ? -1 : next + 1;
  }
  into.clientRecvBytes += clientRecv;
  into.serverSendBytes = (into.serverSendBytes ?? 0) + serverSend;
  into.serverRecvBytes = (into.serverRecvBytes ?? 0) + serverRecv;
  return into;
}

export function emptyQueues(): TcpQueues {
  return { clientRecvBytes: 0, serverSendBytes: 0, serverRecvBytes: 0, clientSockets: 0, serverSockets: 0, lines: 0 };
}

/** The tables as one sample: server sides null when no socket here is the server's. */
export function tcpQueues(texts: readonly string[], targets: readonly ProcEndpoint[]): TcpQueues {
  const q = emptyQueues();
  for (const text of texts) addTcpQueues(text, targets, q);
  if (q.serverSockets === 0) {
    q.serverSendBytes = null;
    q.serverRecvBytes = null;
  }
  return q;
}

const TABLES = ['/proc/net/tcp', '/proc/net/tcp6'];

/** The tables read (a text, or what failed): tcp is needed, tcp6 may be absent (a kernel without IPv6). */
function tablesOf(read: readonly PromiseSettledResult<string>[]): string[] | null {
  if (read[0]!.status === 'rejected') return null;
  return read.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
}

/** Both tables' texts, or null off Linux or where /proc is unreadable (the figure is then unknown). */
export function readTcpTables(): string[] | null {
  if (process.platform !== 'linux') return null;
  return tablesOf(
    TABLES.map((file): PromiseSettledResult<string> => {
      try {
        return { status: 'fulfilled', value: readFileSync(file, 'latin1') };
      } catch (reason) {
        return { status: 'rejected', reason };
      }
    }),
  );
}

/**
 * As readTcpTables, off the event loop: the kernel takes ~5 µs a socket to list the table, so
 * with thousands of sockets a synchronous read stalls the thread for tens of ms, which a thread
 * that also sends (bench:compare's chatters) would turn into bursts of sends.
 */
export async function readTcpTablesAsync(): Promise<string[] | null> {
  if (process.platform !== 'linux') return null;
  return tablesOf(await Promise.allSettled(TABLES.map((file) => readFile(file, 'latin1'))));
}

/** The /proc endpoints of the targets' URLs: every address their host names resolve to (those actually connected are among them). */
export async function targetEndpoints(urls: readonly string[]): Promise<ProcEndpoint[]> {
  const out: ProcEndpoint[] = [];
  for (const raw of urls) {
    const url = new URL(raw);
    const port = Number(url.port || (url.protocol === 'wss:' || url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    const addresses = net.isIP(host) ? [host] : (await lookup(host, { all: true }).catch(() => [])).map((a) => a.address);
    for (const address of addresses) for (const form of procAddresses(address)) out.push({ address: form, port: procPort(port) });
  }
  return out.filter((e, k) => out.findIndex((x) => x.address === e.address && x.port === e.port) === k);
}

/**
 * The share of the main thread's time the samples may take. Reading the tables costs the kernel
 * ~4-5 µs per socket listed (~75 ms at 8,000 connections with both ends on this machine, npm run
 * bench:backlog), time a saturated generator's threads would miss: past this share the sampler
 * skips ticks rather than take more. The cost is judged by the sockets listed, not by the sample's
 * wall time, which a busy core (the generator's own, when pinned) stretches many times over and
 * would thin the samples exactly when they matter.
 */
const BUDGET = 0.05;
const MS_PER_LINE = 0.005;

/** A sample per report tick (fewer when large, see BUDGET), on the runner's main thread. */
export class ReceiveBacklog {
  private nextAt = 0;

  private constructor(private readonly targets: ProcEndpoint[]) {}

  static async open(urls: readonly string[]): Promise<ReceiveBacklog> {
    return new ReceiveBacklog(await targetEndpoints(urls));
  }

  /** null: unknown (not Linux, /proc unreadable, or the target's host did not resolve); undefined: skipped to stay within budget. */
  sample(): TcpQueues | null | undefined {
    if (this.targets.length === 0) return null;
    const start = performance.now();
    if (start < this.nextAt) return undefined;
    const texts = readTcpTables();
    const q = texts ? tcpQueues(texts, this.targets) : null;
    const cost = q ? Math.min(performance.now() - start, q.lines * MS_PER_LINE) : performance.now() - start;
    this.nextAt = start + cost / BUDGET;
    return q;
  }
}

/**
 * How far behind the generator reads, in ms of its own traffic: the bytes waiting unread divided by
 * the rate at which bytes reached it over the interval (what its workers read plus what the queues
 * grew by: a stalled worker reads nothing, but its queues grow). Workers report on their own
 * timers, so an interval can show a drained queue before the report of the reads that drained it:
 * the last rate known is used then.
 */
export class BacklogClock {
  private unread = 0;
  private rate = 0;

  /** null when bytes wait and no rate is known yet. */
  next(unreadBytes: number, readBytes: number, seconds: number): number | null {
    const arrived = (readBytes + unreadBytes - this.unread) / seconds;
    this.unread = unreadBytes;
    if (arrived > 0) this.rate = arrived;
    if (unreadBytes <= 0) return 0;
    return this.rate > 0 ? (unreadBytes / this.rate) * 1000 : null;
  }
}
