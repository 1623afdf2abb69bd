import type { CompressOptions, WebSocketBehavior } from 'uWebSockets.js';
import { BusUnavailableError } from '../bus/bus.ts';
import type { Context } from '../context.ts';
import { ChatError } from '../errors.ts';
import type { WsActionLabel } from '../metrics.ts';
import { StorageWriteError } from '../store/write-health.ts';
import { ACTIONS, type ActionEntry } from './actions.ts';
import type { ChatSocket, Connection } from './connection.ts';
import { decodeRequest } from './decode-request.ts';
import { disconnect, observedReason } from './disconnect-reasons.ts';
import { handleUpgrade } from './handshake.ts';
import { sendError } from './reply.ts';
import type { SessionExpiry } from './session-expiry.ts';

/** No valid request comes near this (500 code points of content plus 1 KB of attributes, escaped): larger frames get ERROR 413. */
export const MAX_REQUEST_BYTES = 16 * 1024;
/** Frames past this are not read at all: uWS drops the connection (1006, "Received too big message"). */
export const MAX_FRAME_BYTES = 256 * 1024;

export function chatWebSocketBehavior(
  ctx: Context,
  sessions: SessionExpiry,
  compression: CompressOptions,
): WebSocketBehavior<Connection> {
  const counted = ctx.metrics.hot.requests;

  const slowConsumersClosed = ctx.metrics.slowConsumers.labels('closed');
  const settle = (ws: ChatSocket, action: WsActionLabel, requestId: string | undefined, error: ChatError | undefined) => {
    if (error) {
      counted[action].error.value++;
      sendError(ctx, ws, error, requestId);
    } else {
      counted[action].ok.value++;
    }
  };
  const fail = (ws: ChatSocket, action: WsActionLabel, requestId: string | undefined) => (err: unknown) => {
    // The bus being away is counted by the bus (chatstorm_bus_failed_total) and said in the answer.
    if (err instanceof BusUnavailableError) {
      settle(ws, action, requestId, new ChatError(500, err.message));
      return;
    }
    // A failed write is logged once per burst where it happens, not once per request.
    if (!(err instanceof StorageWriteError)) ctx.log.error({ err, action }, 'request failed');
    settle(ws, action, requestId, new ChatError(500, 'Internal error'));
  };

  return {
    compression,
    maxPayloadLength: MAX_FRAME_BYTES,
    // The slow-consumer policy closes at the limit (backpressure-monitor.ts); uWS's own cut at
    // twice it is the bound on memory between two samples.
    maxBackpressure: 2 * ctx.config.maxBackpressureBytes,
    // Close rather than skip: a skipped publish is a message lost without a trace.
    closeOnBackpressureLimit: 1,
    idleTimeout: ctx.config.idleTimeoutSeconds,
    sendPingsAutomatically: true,

    upgrade: (res, req, context) => handleUpgrade(ctx, res, req, context),

    open: (ws) => {
      const connection = ws.getUserData();
      const room = connection.room;
      ctx.connections.count++;
      ctx.metrics.hot.connectionsOpened.value++;
      if (room.deleted) {
        // Deleted while this handshake was in flight: the room's bookkeeping is gone already.
        disconnect(ws, 'room_deleted');
        return;
      }
      room.add(ws, connection.userId);
      sessions.add(ws, connection.sessionExpiresAt);
      ws.subscribe(room.id);
    },

    message: (ws, data, isBinary) => {
      const receivedAt = performance.now();
      const connection = ws.getUserData();
      const expired = Date.now() >= connection.sessionExpiresAt;
      if (isBinary || data.byteLength > MAX_REQUEST_BYTES) {
        if (expired) sessions.expire(ws, undefined);
        else if (isBinary) settle(ws, 'invalid', undefined, new ChatError(400, 'Binary frames are not supported: send JSON text frames'));
        else settle(ws, 'invalid', undefined, new ChatError(413, `The frame is ${data.byteLength} bytes, more than the ${MAX_REQUEST_BYTES}-byte limit`));
        return;
      }
      // The ArrayBuffer is only valid during this callback: decode it now.
      const request = decodeRequest(Buffer.from(data).toString('utf8'));
      if (expired) {
        // The request fails as the session does, with its RequestId so the client knows which.
        sessions.expire(ws, request.requestId);
        return;
      }
      if (request.action === undefined) {
        settle(ws, 'invalid', request.requestId, request.error);
        return;
      }
      const action = request.action;
      const entry = ACTIONS[action] as ActionEntry<typeof action>;
      if ((connection.capabilities & entry.capability) === 0) {
        settle(ws, action, request.requestId, new ChatError(403, `The token does not grant the ${action} capability`));
        return;
      }
      // Synchronous when nothing needed waiting for (the usual SEND_MESSAGE on one node): no promise per message.
      let result: ReturnType<typeof entry.handle>;
      try {
        result = entry.handle(ctx, ws, request, receivedAt);
      } catch (err) {
        fail(ws, action, request.requestId)(err);
        return;
      }
      if (result instanceof Promise) {
        result.then(
          (error) => settle(ws, action, request.requestId, error),
          fail(ws, action, request.requestId),
        );
      } else {
        settle(ws, action, request.requestId, result);
      }
    },

    close: (ws, code, message) => {
      const connection = ws.getUserData();
      connection.open = false;
      connection.room.remove(ws, connection.userId);
      sessions.remove(ws, connection.sessionExpiresAt);
      ctx.bus.unsubscribe(connection.room.id);
      ctx.connections.count--;
      ctx.fleetConnections?.release();
      const reason = connection.closeReason ?? observedReason(code, message, connection.congested);
      ctx.metrics.connectionsClosed.labels(reason).inc();
      if (reason === 'slow_consumer') slowConsumersClosed.inc();
    },
  };
}
