import WebSocket from 'ws';

/**
 * A raw WebSocket client for what the SDK never sends: malformed frames, binary frames, missing
 * or forged tokens. Collects every text frame received as parsed JSON.
 */
export class RawChatSocket {
  readonly frames: Record<string, unknown>[] = [];
  private waiters: Array<() => void> = [];
  closeCode: number | undefined;
  closeReason = '';
  private readonly closed: Promise<void>;

  private constructor(readonly socket: WebSocket) {
    socket.on('message', (data, isBinary) => {
      if (!isBinary) this.frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
      for (const wake of this.waiters.splice(0)) wake();
    });
    this.closed = new Promise((resolve) =>
      socket.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        for (const wake of this.waiters.splice(0)) wake();
        resolve();
      }),
    );
  }

  /** Opens with the token as the subprotocol; rejects with the HTTP status when the upgrade is refused. */
  static connect(url: string, token: string | undefined): Promise<RawChatSocket> {
    return new Promise((resolve, reject) => {
      const socket = new WebSocket(url, token === undefined ? [] : [token], { perMessageDeflate: false });
      socket.once('open', () => resolve(new RawChatSocket(socket)));
      socket.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (chunk: Buffer) => (body += chunk.toString()));
        res.on('end', () => reject(Object.assign(new Error(`upgrade refused: ${res.statusCode} ${body}`), { status: res.statusCode, body })));
      });
      socket.once('error', reject);
    });
  }

  send(data: string | Buffer, options: { binary?: boolean } = {}): void {
    this.socket.send(data, { binary: options.binary ?? false });
  }

  /** Waits for a received frame matching `predicate` (already received ones count). */
  async waitFor(predicate: (frame: Record<string, unknown>) => boolean, ms = 5000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + ms;
    for (;;) {
      const found = this.frames.find(predicate);
      if (found) return found;
      if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode}) before the frame arrived`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no matching frame within ${ms} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async waitForClose(ms = 5000): Promise<{ code: number; reason: string }> {
    await Promise.race([
      this.closed,
      new Promise((_, reject) => setTimeout(() => reject(new Error(`socket not closed within ${ms} ms`)), ms).unref()),
    ]);
    return { code: this.closeCode!, reason: this.closeReason };
  }

  close(): void {
    this.socket.close();
  }
}
