import WebSocket from 'ws';
import type { FuzzTarget } from './target.ts';

// Two well-behaved clients (the `ws` library, as an application would use it) in the room the
// fuzzer attacks. Between batches each sends one message and both must receive both: the fuzz
// input may hurt its own connection, never anyone else's.

interface Client {
  socket: WebSocket;
  frames: Array<Record<string, unknown>>;
  closed: string | undefined;
  /** Called on every frame kept and on close. */
  wake: () => void;
}

export class LivenessPair {
  private round = 0;

  private constructor(
    private readonly a: Client,
    private readonly b: Client,
    private readonly boundMs: number,
  ) {}

  static async open(target: FuzzTarget, roomArn: string, boundMs = 5000): Promise<LivenessPair> {
    const connectOne = async (userId: string): Promise<Client> => {
      const { token } = await target.call<{ token: string }>('CreateChatToken', { roomIdentifier: roomArn, userId, capabilities: ['SEND_MESSAGE'] });
      const socket = new WebSocket(target.wsUrl, [token], { perMessageDeflate: false });
      const client: Client = { socket, frames: [], closed: undefined, wake: () => {} };
      socket.on('message', (data) => {
        const frame = JSON.parse(data.toString()) as Record<string, unknown>;
        // Only what the pair says to each other is kept: fuzz traffic in the room is noise here.
        if (typeof frame.RequestId === 'string' && frame.RequestId.startsWith('live-')) {
          client.frames.push(frame);
          client.wake();
        }
      });
      socket.on('close', (code, reason) => {
        client.closed = `${code} ${reason.toString()}`;
        client.wake();
      });
      socket.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`liveness client ${userId} did not connect within ${boundMs} ms`)), boundMs);
        socket.once('open', () => {
          clearTimeout(timer);
          resolve();
        });
        socket.once('error', (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      return client;
    };
    return new LivenessPair(await connectOne('good-a'), await connectOne('good-b'), boundMs);
  }

  /** Both send one message; both must receive both within the bound. Throws saying what was missing. */
  async check(): Promise<void> {
    const n = ++this.round;
    const ids = [`live-a-${n}`, `live-b-${n}`];
    for (const [client, id] of [
      [this.a, ids[0]!],
      [this.b, ids[1]!],
    ] as const) {
      if (client.closed !== undefined) throw new Error(`a liveness client was disconnected (${client.closed})`);
      client.socket.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: id, Content: `liveness round ${n}` }));
    }
    const deadline = Date.now() + this.boundMs;
    for (;;) {
      const missing: string[] = [];
      for (const [name, client] of [
        ['good-a', this.a],
        ['good-b', this.b],
      ] as const) {
        for (const id of ids) {
          const frame = client.frames.find((f) => f.RequestId === id);
          if (!frame) missing.push(`${name} has no ${id}`);
          else if (frame.Type !== 'MESSAGE') throw new Error(`${name} got ${JSON.stringify(frame)} for ${id}`);
        }
        if (client.closed !== undefined) throw new Error(`liveness client ${name} was disconnected (${client.closed})`);
      }
      if (missing.length === 0) break;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`liveness round ${n} failed after ${this.boundMs} ms: ${missing.join('; ')}`);
      // Until the next frame of either client, or the deadline.
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.a.wake = this.b.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    this.a.frames.length = 0;
    this.b.frames.length = 0;
  }

  get rounds(): number {
    return this.round;
  }

  close(): void {
    this.a.socket.close();
    this.b.socket.close();
  }
}
