import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { Context } from '../context.ts';
import type { HandshakeOutcome } from '../metrics.ts';
import { StorageWriteError } from '../store/write-health.ts';
import { senderJson } from './frames.ts';
import type { Connection } from './connection.ts';
import type { LiveRoom } from '../rooms/live-rooms.ts';

const STATUS = {
  unauthorized: '401 Unauthorized',
  notFound: '404 Not Found',
  tooMany: '429 Too Many Requests',
  internal: '500 Internal Server Error',
} as const;

/**
 * The WebSocket upgrade: the chat token is the only subprotocol (Sec-WebSocket-Protocol) and is
 * echoed back on success. A token that is missing, unreadable, forged, expired or already used is
 * refused with 401 before upgrading; a token for a room that no longer exists with 404; past the
 * concurrent-connections quota with 429 (checked before the token is read). The body says which,
 * as JSON {"message"}.
 */
export function handleUpgrade(ctx: Context, res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
  const started = performance.now();
  // Headers live only during this callback: read them all before anything async.
  const key = req.getHeader('sec-websocket-key');
  const protocols = req.getHeader('sec-websocket-protocol');
  const extensions = req.getHeader('sec-websocket-extensions');
  let aborted = false;
  res.onAborted(() => {
    aborted = true;
  });

  const finish = (outcome: HandshakeOutcome): void => {
    ctx.metrics.handshakes.labels(outcome).inc();
    ctx.metrics.handshakeDuration.observe((performance.now() - started) / 1000);
  };
  const refuse = (status: string, outcome: HandshakeOutcome, message: string): void => {
    finish(aborted ? 'aborted' : outcome);
    if (outcome.endsWith('_token')) ctx.metrics.tokensRejected.labels(outcome.replace('_token', '')).inc();
    if (aborted) return;
    res.cork(() => {
      res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify({ message }), true);
    });
  };

  // Several comma-separated protocols are allowed by RFC 6455; the token is the first.
  const token = protocols.split(',')[0]!.trim();
  if (!token) {
    refuse(STATUS.unauthorized, 'missing_token', 'A chat token is required as the Sec-WebSocket-Protocol header');
    return;
  }
  // Before the token is decrypted: a server at its limit refuses at the least cost, and does not
  // spend the token, which the client may retry with.
  if (ctx.connections.count >= ctx.config.limits.maxConnections) {
    refuse(STATUS.tooMany, 'connection_limit', `The limit of ${ctx.config.limits.maxConnections} concurrent connections is reached`);
    return;
  }
  const claims = ctx.tokens.open(token);
  if (!claims) {
    refuse(STATUS.unauthorized, 'invalid_token', 'The chat token is not valid');
    return;
  }
  const now = Date.now();
  if (now >= claims.tokenExpiresAt || now >= claims.sessionExpiresAt) {
    refuse(STATUS.unauthorized, 'expired_token', 'The chat token has expired');
    return;
  }
  const fleet = ctx.fleetConnections;
  const live = fleet ? undefined : ctx.rooms.get(claims.roomId);
  if (live) {
    // The fast path, the usual one on a single node: the room is live, the embedded store answers
    // at once and the local bus needs no round trip, so the handshake is decided in this callback
    // without a promise (a third of its cost when it went through the async path below).
    let consumed: boolean | Promise<boolean>;
    try {
      consumed = ctx.store.consumeToken(claims.tokenId, claims.tokenExpiresAt);
    } catch (error) {
      failed(error);
      return;
    }
    if (consumed === false) {
      refuse(STATUS.unauthorized, 'reused_token', 'The chat token has already been used');
      return;
    }
    if (consumed === true) {
      const subscribed = ctx.bus.subscribe(live.id);
      if (!subscribed) {
        accept(live);
        return;
      }
      subscribed.then(
        () => accept(live),
        (error: unknown) => failed(error),
      );
      return;
    }
    consumed.then(
      (fresh) => (fresh ? subscribeThenAccept(live) : refuse(STATUS.unauthorized, 'reused_token', 'The chat token has already been used')),
      (error: unknown) => failed(error),
    );
    return;
  }
  let reserved = false;
  void (async () => {
    // The fleet's count is checked before the token is spent, as this node's is above.
    if (fleet) {
      if (!(await fleet.reserve(ctx.config.limits.maxConnections))) {
        refuse(STATUS.tooMany, 'connection_limit', `The limit of ${ctx.config.limits.maxConnections} concurrent connections is reached`);
        return;
      }
      reserved = true;
    }
    const room = await ctx.rooms.acquire(claims.roomId);
    if (!room) {
      refuse(STATUS.notFound, 'room_not_found', 'The room of this chat token does not exist');
      return;
    }
    if (!(await ctx.store.consumeToken(claims.tokenId, claims.tokenExpiresAt))) {
      refuse(STATUS.unauthorized, 'reused_token', 'The chat token has already been used');
      return;
    }
    // Listening to the room before the client hears it is connected: a viewer told "connected"
    // gets every frame published after that, on whatever node. Undone by the close handler, or below.
    const subscribed = ctx.bus.subscribe(room.id);
    if (subscribed) await subscribed;
    // From here the reservation belongs to the socket, released at its close (websocket.ts).
    if (accept(room)) reserved = false;
  })()
    .finally(() => {
      if (reserved) fleet?.release();
    })
    .catch(failed);

  function subscribeThenAccept(room: LiveRoom): void {
    const subscribed = ctx.bus.subscribe(room.id);
    if (!subscribed) accept(room);
    else subscribed.then(() => accept(room), failed);
  }

  /** Upgrades, after the room's subscription is taken; false when the handshake ended otherwise. */
  function accept(room: LiveRoom): boolean {
    if (aborted || room.deleted) {
      ctx.bus.unsubscribe(room.id);
      if (aborted) finish('aborted');
      else refuse(STATUS.notFound, 'room_not_found', 'The room of this chat token does not exist');
      return false;
    }
    const connection: Connection = {
      room,
      userId: claims!.userId,
      capabilities: claims!.capabilities,
      senderAttributes: claims!.attributes,
      sender: senderJson(claims!.userId, claims!.attributes),
      sessionExpiresAt: claims!.sessionExpiresAt,
      // Read only for a connection that is accepted: a refusal allocates as little as it can.
      ip: Buffer.from(res.getRemoteAddressAsText()).toString(),
      closeReason: undefined,
      open: true,
      congested: false,
      behindSince: 0,
    };
    finish('accepted');
    ctx.metrics.tokensUsed.inc();
    res.cork(() => res.upgrade(connection, key, token, extensions, context));
    return true;
  }

  function failed(error: unknown): void {
    // A used-token record that cannot be written refuses the handshake rather than accept a token
    // that could be replayed after a restart; that failure is logged once per burst where it happens.
    if (!(error instanceof StorageWriteError)) ctx.log.error({ err: error }, 'handshake failed');
    refuse(STATUS.internal, 'error', 'Internal error during the handshake');
  }
}
