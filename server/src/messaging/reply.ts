import type { Context } from '../context.ts';
import type { ChatError } from '../errors.ts';
import type { ChatSocket } from './connection.ts';
import { errorFrame } from './frames.ts';

/** Sends an ERROR frame to one connection, if it is still open (async work may outlive it). */
export function sendError(ctx: Context, ws: ChatSocket, error: ChatError, requestId: string | undefined): void {
  if (!ws.getUserData().open) return;
  ctx.metrics.errorFrames.labels(String(error.code)).inc();
  // cork: this may run after an await, outside the uWS callback that corks for us.
  ws.cork(() => ws.send(errorFrame(error, requestId)));
}
