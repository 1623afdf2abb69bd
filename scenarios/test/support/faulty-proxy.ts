import http from 'node:http';
import type net from 'node:net';
import WebSocket, { WebSocketServer } from 'ws';
import { seededRandom } from '../../lib/seeded-random.ts';

// A test-only WebSocket proxy between the load harness and chatstorm that breaks deliveries on
// purpose, in numbers it counts exactly, so a test can hold the harness's loss, duplicate, order,
// latency and connect figures against what really happened. ws on both sides: the downstream
// upgrade is answered with the token the client offered as its subprotocol once chatstorm has
// accepted the same token upstream, and frames are relayed both ways.
//
// Faults touch only MESSAGE frames the harness is *required* to receive (its ledger: "each
// receiver connected for the whole window around a send must receive it exactly once, in order
// per sender"), so each fault has exactly one expected effect:
//   - never the receiver's own messages (its acks): senders it sent itself are remembered;
//   - only after the connection has relayed ELIGIBLE_AFTER frames of that sender and the message
//     was sent ≥ OPEN_MARGIN_MS after the proxy saw the connection open (the receiver was open
//     before the send, by any clock the harness uses);
//   - never a frame already involved in another fault (the successor of a held frame goes
//     through untouched).
// The harness closes its viewers only after the drain, so the receiver stays well past each
// faulted message's ack + settle; a test's profile must not churn or kick.
//
//   drop       the frame never reaches the receiver            → one missing
//   duplicate  the frame is written twice                      → one duplicate
//   swap       the frame is held and written right after the next frame of the same sender on
//              the same connection                             → one out of order
//   delay      the connection's downstream pauses delayMs before the frame (later frames queue
//              behind it, so order is kept)                    → latency ≥ delayMs, nothing else
//   refuse     the upgrade is answered 401 or 503 (alternately) without reaching chatstorm
//                                                              → one refused connect
// Counts are taken when the fault really happened (a swap when both frames were written).

const ELIGIBLE_AFTER = 3;
const OPEN_MARGIN_MS = 250;

export interface FaultPlan {
  seed: number;
  drop: number;
  duplicate: number;
  swap: number;
  delay: number;
  delayMs: number;
  refuse: number;
  /** Handshake numbers (0-based, in arrival order) are picked for refusal from [0, refuseAmong). */
  refuseAmong: number;
  /** Chance that an eligible frame is faulted while the budget lasts. */
  chance: number;
}

export interface InjectedCounts {
  dropped: number;
  duplicated: number;
  swapped: number;
  delayed: number;
  refused: { 401: number; 503: number };
  handshakes: number;
  /** MESSAGE frames relayed downstream (faulted or not). */
  messages: number;
  /** Connections that got at least one fault: shows how the faults spread. */
  connectionsFaulted: number;
}

export interface FaultyProxy {
  /** ws://127.0.0.1:<port>/ */
  url: string;
  injected: InjectedCounts;
  /** Whether every planned fault happened. */
  complete(): boolean;
  close(): Promise<void>;
}


type Kind = 'drop' | 'duplicate' | 'swap' | 'delay';

interface Queued {
  data: string;
  notBefore: number;
  onWritten?: () => void;
}

/** One client connection and its upstream twin. */
class Link {
  readonly own = new Set<number>();
  readonly relayed = new Map<number, number>();
  readonly held = new Map<number, string>();
  readonly queue: Queued[] = [];
  timer: NodeJS.Timeout | undefined;
  faulted = false;

  constructor(
    readonly down: WebSocket,
    readonly up: WebSocket,
    readonly openedAt: number,
  ) {}

  enqueue(item: Queued): void {
    this.queue.push(item);
    this.flush();
  }

  flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    const now = Date.now();
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      if (head.notBefore > now) {
        this.timer = setTimeout(() => this.flush(), head.notBefore - now);
        return;
      }
      this.queue.shift();
      if (this.down.readyState !== WebSocket.OPEN) return;
      this.down.send(head.data);
      head.onWritten?.();
    }
  }
}

const SENT_BY = /"s":"(\d+)"/;

export async function startFaultyProxy(upstreamUrl: string, plan: FaultPlan): Promise<FaultyProxy> {
  const random = seededRandom(plan.seed);
  const budget: Record<Kind, number> = { drop: plan.drop, duplicate: plan.duplicate, swap: plan.swap, delay: plan.delay };
  const injected: InjectedCounts = {
    dropped: 0,
    duplicated: 0,
    swapped: 0,
    delayed: 0,
    refused: { 401: 0, 503: 0 },
    handshakes: 0,
    messages: 0,
    connectionsFaulted: 0,
  };
  // Which handshakes to refuse: plan.refuse distinct numbers below refuseAmong.
  const refuseAt = new Set<number>();
  if (plan.refuse > plan.refuseAmong) throw new Error('refuse must not exceed refuseAmong');
  while (refuseAt.size < plan.refuse) refuseAt.add(Math.floor(random() * plan.refuseAmong));

  const links = new Set<Link>();
  const server = http.createServer((_req, res) => {
    res.writeHead(404).end('this proxy speaks WebSocket only; the control plane goes straight to the server\n');
  });
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, handleProtocols: (offered) => offered.values().next().value ?? false });

  const pickFault = (): Kind | undefined => {
    const left = (Object.keys(budget) as Kind[]).filter((k) => budget[k] > 0);
    if (left.length === 0 || random() >= plan.chance) return undefined;
    const kind = left[Math.floor(random() * left.length)]!;
    budget[kind]--;
    return kind;
  };

  const relayDown = (link: Link, data: string) => {
    let frame: { Type?: string; Attributes?: Record<string, string> } | undefined;
    try {
      frame = JSON.parse(data) as typeof frame;
    } catch {
      frame = undefined;
    }
    const a = frame?.Type === 'MESSAGE' ? frame.Attributes : undefined;
    const sender = a?.s !== undefined ? Number(a.s) : NaN;
    if (!a || !Number.isInteger(sender) || a.t === undefined) {
      link.enqueue({ data, notBefore: 0 });
      return;
    }
    injected.messages++;
    const held = link.held.get(sender);
    if (held !== undefined) {
      // The successor of a held frame: it goes first, then the held one.
      link.held.delete(sender);
      link.relayed.set(sender, (link.relayed.get(sender) ?? 0) + 1);
      link.enqueue({ data, notBefore: 0 });
      link.enqueue({ data: held, notBefore: 0, onWritten: () => injected.swapped++ });
      return;
    }
    const seen = link.relayed.get(sender) ?? 0;
    link.relayed.set(sender, seen + 1);
    const eligible = !link.own.has(sender) && seen >= ELIGIBLE_AFTER && Number(a.t) > link.openedAt + OPEN_MARGIN_MS;
    const kind = eligible ? pickFault() : undefined;
    if (kind && !link.faulted) {
      link.faulted = true;
      injected.connectionsFaulted++;
    }
    switch (kind) {
      case 'drop':
        injected.dropped++;
        return;
      case 'duplicate':
        link.enqueue({ data, notBefore: 0 });
        link.enqueue({ data, notBefore: 0, onWritten: () => injected.duplicated++ });
        return;
      case 'swap':
        link.held.set(sender, data);
        return;
      case 'delay':
        link.enqueue({ data, notBefore: Date.now() + plan.delayMs, onWritten: () => injected.delayed++ });
        return;
      default:
        link.enqueue({ data, notBefore: 0 });
    }
  };

  server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const n = injected.handshakes++;
    if (refuseAt.has(n)) {
      const status = injected.refused[401] <= injected.refused[503] ? 401 : 503;
      injected.refused[status]++;
      socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const protocols = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    const up = new WebSocket(upstreamUrl, protocols, { perMessageDeflate: false });
    const early: string[] = [];
    const bufferEarly = (d: WebSocket.RawData) => early.push(d.toString());
    up.on('message', bufferEarly);
    socket.on('error', () => up.terminate());
    up.on('unexpected-response', (request, response) => {
      // chatstorm's own refusal (a used or bad token) reaches the client unchanged.
      socket.end(`HTTP/1.1 ${response.statusCode} ${response.statusMessage}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      request.destroy();
    });
    let opened = false;
    up.on('error', () => {
      // Before the upgrade the client is still waiting for an answer; afterwards 'close' follows.
      if (!opened && !socket.destroyed) socket.end('HTTP/1.1 502 Bad Gateway\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
    });
    up.once('open', () => {
      opened = true;
      if (socket.destroyed) {
        up.terminate();
        return;
      }
      wss.handleUpgrade(req, socket, head, (down) => {
        const link = new Link(down, up, Date.now());
        links.add(link);
        up.off('message', bufferEarly);
        for (const d of early) relayDown(link, d);
        up.on('message', (d) => relayDown(link, d.toString()));
        down.on('message', (d) => {
          const text = d.toString();
          const own = SENT_BY.exec(text);
          if (own && text.includes('"SEND_MESSAGE"')) link.own.add(Number(own[1]));
          if (up.readyState === WebSocket.OPEN) up.send(text);
        });
        const closeCode = (code: number) => (code >= 3000 || (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ? code : 1000);
        down.on('close', (code, reason) => {
          links.delete(link);
          clearTimeout(link.timer);
          if (up.readyState === WebSocket.OPEN) up.close(closeCode(code), reason);
          else up.terminate();
        });
        up.on('close', (code, reason) => {
          link.flush();
          if (down.readyState === WebSocket.OPEN) down.close(closeCode(code), reason);
        });
        down.on('error', () => up.terminate());
      });
    });
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  const planned = { drop: plan.drop, duplicate: plan.duplicate, swap: plan.swap, delay: plan.delay };
  return {
    url: `ws://127.0.0.1:${port}/`,
    injected,
    complete: () =>
      injected.dropped === planned.drop &&
      injected.duplicated === planned.duplicate &&
      injected.swapped === planned.swap &&
      injected.delayed === planned.delay &&
      injected.refused[401] + injected.refused[503] === plan.refuse,
    close: async () => {
      for (const link of links) {
        clearTimeout(link.timer);
        link.down.terminate();
        link.up.terminate();
      }
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
