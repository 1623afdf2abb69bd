import { ChatError } from '../errors.ts';
import type { Context } from '../context.ts';
import type { ChatSocket } from './connection.ts';
import { disconnect } from './disconnect-reasons.ts';
import { sendError } from './reply.ts';

const bucketOf = (expiresAt: number) => Math.ceil(expiresAt / 1000) + 1;

/**
 * Ends sessions at their sessionExpirationTime: ERROR 401, then close with 1000, as the real
 * service does (the SDK answers a 401 by reconnecting with a fresh token). Sockets are kept in
 * one-second buckets checked by a single timer instead of a timer per socket. The sweep runs one
 * bucket behind, within about two seconds of expiry; until then a request on an expired session
 * is answered by the message path, with that request's RequestId.
 */
export class SessionExpiry {
  private readonly buckets = new Map<number, Set<ChatSocket>>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly ctx: Context) {
    this.timer = setInterval(() => this.expireDue(Date.now()), 250);
    this.timer.unref();
  }

  add(ws: ChatSocket, expiresAt: number): void {
    const second = bucketOf(expiresAt);
    let bucket = this.buckets.get(second);
    if (!bucket) this.buckets.set(second, (bucket = new Set()));
    bucket.add(ws);
  }

  remove(ws: ChatSocket, expiresAt: number): void {
    const second = bucketOf(expiresAt);
    const bucket = this.buckets.get(second);
    if (bucket?.delete(ws) && bucket.size === 0) this.buckets.delete(second);
  }

  expire(ws: ChatSocket, requestId: string | undefined): void {
    sendError(this.ctx, ws, new ChatError(401, 'The session has expired'), requestId);
    disconnect(ws, 'session_expired');
  }

  private expireDue(now: number): void {
    const current = Math.floor(now / 1000);
    for (const [second, bucket] of this.buckets) {
      if (second > current) continue;
      this.buckets.delete(second);
      for (const ws of bucket) this.expire(ws, undefined);
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
