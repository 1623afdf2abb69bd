import type { HttpRequest, HttpResponse, us_socket_context_t } from 'uWebSockets.js';
import type { Context } from '../context.ts';
import type { HandshakeOutcome } from '../metrics.ts';
import type { LiveRoom } from '../rooms/live-rooms.ts';
import type { ChatTokenClaims } from '../tokens/chat-token.ts';
import { StorageWriteError } from '../store/write-health.ts';
import type { Connection } from './connection.ts';
import { senderJson } from './frames.ts';

const STATUS = {
  unauthorized: '401 Unauthorized',
  notFound: '404 Not Found',
  tooMany: '429 Too Many Requests',
  internal: '500 Internal Server Error',
} as const;

/**
 * One handshake in flight. The handshake runs thousands of times a second in a connection storm,
 * so its steps are module functions over this record rather than closures made per handshake
 * (tsx also wraps each nested named function in a __name call, per handshake).
 */
interface Handshake {
  readonly ctx: Context;
  readonly res: HttpResponse;
  readonly context: us_socket_context_t;
  readonly started: number;
  readonly key: string;
  readonly token: string;
  readonly extensions: string;
  readonly claims: ChatTokenClaims;
  /** Set by uWS's onAborted, registered only once the handshake goes asynchronous. */
  aborted: boolean;
  /** Inside the upgrade callback, where uWS corks the writes itself. */
  synchronous: boolean;
}

/**
 * The WebSocket upgrade: the chat token is the only subprotocol (Sec-WebSocket-Protocol) and is
 * echoed back on success. A token that is missing, unreadable, forged, expired or already used is
 * refused with 401 before upgrading; a token for a room that no longer exists with 404; past the
 * concurrent-connections quota with 429 (checked before the token is read). The body says which,
 * as JSON {"message"}.
 */
export function handleUpgrade(ctx: Context, res: HttpResponse, req: HttpRequest, context: us_socket_context_t): void {
  const started = performance.now();
  // Several comma-separated protocols are allowed by RFC 6455; the token is the first.
  const protocols = req.getHeader('sec-websocket-protocol');
  const comma = protocols.indexOf(',');
  const token = (comma < 0 ? protocols : protocols.slice(0, comma)).trim();
  if (!token) {
    refuseNow(ctx, res, started, STATUS.unauthorized, 'missing_token', 'A chat token is required as the Sec-WebSocket-Protocol header');
    return;
  }
  // Before the token is decrypted: a server at its limit refuses at the least cost, and does not
  // spend the token, which the client may retry with.
  if (ctx.connections.count >= ctx.config.limits.maxConnections) {
    refuseNow(ctx, res, started, STATUS.tooMany, 'connection_limit', `The limit of ${ctx.config.limits.maxConnections} concurrent connections is reached`);
    return;
  }
  const claims = ctx.tokens.open(token);
  if (!claims) {
    refuseNow(ctx, res, started, STATUS.unauthorized, 'invalid_token', 'The chat token is not valid');
    return;
  }
  const now = Date.now();
  if (now >= claims.tokenExpiresAt || now >= claims.sessionExpiresAt) {
    refuseNow(ctx, res, started, STATUS.unauthorized, 'expired_token', 'The chat token has expired');
    return;
  }
  const h: Handshake = {
    ctx,
    res,
    context,
    started,
    // Headers live only during this callback: read them all before anything async.
    key: req.getHeader('sec-websocket-key'),
    token,
    extensions: req.getHeader('sec-websocket-extensions'),
    claims,
    aborted: false,
    synchronous: true,
  };
  const live = ctx.fleetConnections ? undefined : ctx.rooms.get(claims.roomId);
  if (live) {
    // The fast path, the usual one on a single node: the room is live, the embedded store answers
    // at once and the local bus needs no round trip, so the handshake is decided in this callback
    // without a promise.
    let consumed: boolean | Promise<boolean>;
    try {
      consumed = ctx.store.consumeToken(claims.tokenId, claims.tokenExpiresAt);
    } catch (error) {
      failed(h, error);
      return;
    }
    if (consumed === false) {
      refuse(h, STATUS.unauthorized, 'reused_token', 'The chat token has already been used');
      return;
    }
    const subscribed = consumed === true ? ctx.bus.subscribe(live.id) : undefined;
    if (consumed === true && !subscribed) {
      accept(h, live);
      return;
    }
    goAsync(h);
    if (consumed === true) {
      subscribed!.then(() => accept(h, live)).catch((error: unknown) => failed(h, error));
    } else {
      consumed
        .then((fresh) => (fresh ? subscribeThenAccept(h, live) : refuse(h, STATUS.unauthorized, 'reused_token', 'The chat token has already been used')))
        .catch((error: unknown) => failed(h, error));
    }
    return;
  }
  goAsync(h);
  void acquireThenAccept(h);
}

function goAsync(h: Handshake): void {
  h.synchronous = false;
  h.res.onAborted(() => {
    h.aborted = true;
  });
}

async function acquireThenAccept(h: Handshake): Promise<void> {
  const { ctx, claims } = h;
  const fleet = ctx.fleetConnections;
  let reserved = false;
  try {
    // The fleet's count is checked before the token is spent, as this node's is in handleUpgrade.
    if (fleet) {
      if (!(await fleet.reserve(ctx.config.limits.maxConnections))) {
        refuse(h, STATUS.tooMany, 'connection_limit', `The limit of ${ctx.config.limits.maxConnections} concurrent connections is reached`);
        return;
      }
      reserved = true;
    }
    const room = await ctx.rooms.acquire(claims.roomId);
    if (!room) {
      refuse(h, STATUS.notFound, 'room_not_found', 'The room of this chat token does not exist');
      return;
    }
    if (!(await ctx.store.consumeToken(claims.tokenId, claims.tokenExpiresAt))) {
      refuse(h, STATUS.unauthorized, 'reused_token', 'The chat token has already been used');
      return;
    }
    const subscribed = ctx.bus.subscribe(room.id);
    if (subscribed) await subscribed;
    // From here the reservation belongs to the socket, released at its close (websocket.ts).
    if (accept(h, room)) reserved = false;
  } catch (error) {
    failed(h, error);
  } finally {
    if (reserved) fleet?.release();
  }
}

function subscribeThenAccept(h: Handshake, room: LiveRoom): void {
  // Listening to the room before the client hears it is connected: a viewer told "connected"
  // gets every frame published after that, on whatever node. Undone by the close handler, or in accept.
  const subscribed = h.ctx.bus.subscribe(room.id);
  if (!subscribed) accept(h, room);
  else subscribed.then(() => accept(h, room)).catch((error: unknown) => failed(h, error));
}

/** Upgrades, once the token is spent and the room subscribed; false when the handshake ended otherwise. */
function accept(h: Handshake, room: LiveRoom): boolean {
  const { ctx, res, claims } = h;
  if (h.aborted || room.deleted) {
    ctx.bus.unsubscribe(room.id);
    if (h.aborted) finish(h.ctx, h.started, 'aborted');
    else refuse(h, STATUS.notFound, 'room_not_found', 'The room of this chat token does not exist');
    return false;
  }
  const connection: Connection = {
    room,
    userId: claims.userId,
    capabilities: claims.capabilities,
    senderAttributes: claims.attributes,
    sender: senderJson(claims.userId, claims.attributes),
    sessionExpiresAt: claims.sessionExpiresAt,
    // Read only for a connection that is accepted: a refusal allocates as little as it can.
    ip: Buffer.from(res.getRemoteAddressAsText()).toString(),
    closeReason: undefined,
    open: true,
    congested: false,
    behindSince: 0,
  };
  finish(ctx, h.started, 'accepted');
  ctx.metrics.hot.tokensUsed.value++;
  if (h.synchronous) res.upgrade(connection, h.key, h.token, h.extensions, h.context);
  else res.cork(() => res.upgrade(connection, h.key, h.token, h.extensions, h.context));
  return true;
}

function failed(h: Handshake, error: unknown): void {
  // A used-token record that cannot be written refuses the handshake rather than accept a token
  // that could be replayed after a restart; that failure is logged once per burst where it happens.
  if (!(error instanceof StorageWriteError)) h.ctx.log.error({ err: error }, 'handshake failed');
  refuse(h, STATUS.internal, 'error', 'Internal error during the handshake');
}

function refuse(h: Handshake, status: string, outcome: HandshakeOutcome, message: string): void {
  if (h.aborted) {
    finish(h.ctx, h.started, 'aborted');
    countRejectedToken(h.ctx, outcome);
    return;
  }
  if (h.synchronous) refuseNow(h.ctx, h.res, h.started, status, outcome, message);
  else h.res.cork(() => refuseNow(h.ctx, h.res, h.started, status, outcome, message));
}

function refuseNow(ctx: Context, res: HttpResponse, started: number, status: string, outcome: HandshakeOutcome, message: string): void {
  finish(ctx, started, outcome);
  countRejectedToken(ctx, outcome);
  res.writeStatus(status).writeHeader('content-type', 'application/json').end(JSON.stringify({ message }), true);
}

function countRejectedToken(ctx: Context, outcome: HandshakeOutcome): void {
  if (outcome.endsWith('_token')) ctx.metrics.tokensRejected.labels(outcome.replace('_token', '')).inc();
}

function finish(ctx: Context, started: number, outcome: HandshakeOutcome): void {
  ctx.metrics.hot.handshakes[outcome].value++;
  ctx.metrics.hot.handshakeDuration.observe((performance.now() - started) / 1000);
}
