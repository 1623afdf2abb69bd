import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { DISCONNECT_REASON_LABELS } from './messaging/disconnect-reasons.ts';
import { counterTally, foldTallies, HistogramTally, type Tally } from './metric-tally.ts';

// Every metric of the server is declared here: static names, base units, bounded label sets.
// Label values come from the closed sets below, never from user input.

export const HANDSHAKE_OUTCOMES = [
  'accepted',
  'missing_token',
  'invalid_token',
  'expired_token',
  'reused_token',
  'room_not_found',
  'connection_limit',
  'aborted',
  'error',
] as const;
export type HandshakeOutcome = (typeof HANDSHAKE_OUTCOMES)[number];

/** Why a token was refused at the handshake: the handshake outcomes that end in `_token`, without it. */
export const TOKEN_REJECTION_REASONS = ['missing', 'invalid', 'expired', 'reused'] as const;
export type TokenRejectionReason = (typeof TOKEN_REJECTION_REASONS)[number];

export const WS_ACTIONS = ['SEND_MESSAGE', 'DELETE_MESSAGE', 'DISCONNECT_USER', 'invalid'] as const;
export type WsActionLabel = (typeof WS_ACTIONS)[number];
export const REQUEST_OUTCOMES = ['ok', 'error'] as const;

export const ERROR_CODES = [400, 401, 403, 404, 406, 413, 429, 500] as const;

export const REVIEW_OUTCOMES = ['allow', 'deny', 'fallback_allow', 'fallback_deny'] as const;
export type ReviewOutcome = (typeof REVIEW_OUTCOMES)[number];

export const RATE_LIMITS = ['room_message_rate', 'delete_message_rate', 'api_quota'] as const;
export type RateLimitName = (typeof RATE_LIMITS)[number];

/**
 * Why a control-plane request body was refused before its operation ran: over the size limit and
 * drained (the client reads the answer), over it and cut past the drain bound, or too slow.
 */
export const HTTP_BODY_REFUSALS = ['too_large', 'too_large_cut', 'timeout'] as const;
export type HttpBodyRefusal = (typeof HTTP_BODY_REFUSALS)[number];

export const FRAME_TYPES = ['MESSAGE', 'EVENT'] as const;
export type FrameType = (typeof FRAME_TYPES)[number];

/** What the cross-node bus carries (bus/bus.ts): the two frame types and the three control events. */
export const BUS_MESSAGE_TYPES = [...FRAME_TYPES, 'disconnect_user', 'close_room', 'room_changed'] as const;
export type BusMessageType = (typeof BUS_MESSAGE_TYPES)[number];

/**
 * What the server did to a receiver past --max-backpressure-bytes. Only 'closed' today (a skipped
 * frame would be a message lost without a trace); the label stays so a future policy is a new value.
 */
export const SLOW_CONSUMER_ACTIONS = ['closed'] as const;
export type SlowConsumerAction = (typeof SLOW_CONSUMER_ACTIONS)[number];

/** The files the server writes at run time (temporary files count as the file they replace). */
export const STORAGE_FILES = ['store', 'token_log', 'chat_log'] as const;
export type StorageFile = (typeof STORAGE_FILES)[number];

/**
 * What a failed Redis command was for (with --redis-url): the store (500), a token record (the
 * handshake refused with 500), or a fleet-wide quota or the connection count (the node's own limit
 * applied instead, see README "Many nodes on Redis").
 */
export const REDIS_USES = ['store', 'token', 'quota', 'connection_quota'] as const;
export type RedisUse = (typeof REDIS_USES)[number];

/** Why --auth sigv4 refused an API request; each maps to one AWS error type (control-plane/verify-signature.ts). */
export const AUTH_REFUSAL_REASONS = [
  'missing_authentication',
  'incomplete_signature',
  'unrecognized_client',
  'signature_expired',
  'invalid_signature',
] as const;
export type AuthRefusalReason = (typeof AUTH_REFUSAL_REASONS)[number];

export const RELOAD_OUTCOMES = ['ok', 'error'] as const;
export type ReloadOutcome = (typeof RELOAD_OUTCOMES)[number];

// From 50 µs (one publish to a small room) to 10 s (a handshake or review stuck behind a saturated
// event loop): the tail is what the alerts and heatmaps are about, so it must not fall into +Inf.
const LATENCY_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
];

/** Values read at scrape time rather than maintained on the hot path; server.ts fills them in. */
export interface MetricProbes {
  rooms(): Promise<number>;
  /** WebSocket connections open on this node (the count the handshake checks the limit against). */
  openConnections(): number;
  activeRooms(): number;
  bufferedBytes(): number;
  /** Connections the backpressure monitor found congested at its last sample. */
  congestedConnections(): number;
  /** 1 while both connections of the Redis bus are up; 0 without --redis-url. */
  busConnected(): number;
}

export function createMetrics(options: { uwsFallback: boolean; version: string; nodeId?: string }) {
  const registry = new Registry();
  // One label set per process: with --workers or many nodes, Prometheus tells the series apart by
  // `node` (its value is the closed set of one: this process's --node-id).
  if (options.nodeId !== undefined) registry.setDefaultLabels({ node: options.nodeId });
  collectDefaultMetrics({ register: registry, prefix: 'chatstorm_' });
  const probes: MetricProbes = {
    rooms: async () => 0,
    openConnections: () => 0,
    activeRooms: () => 0,
    bufferedBytes: () => 0,
    congestedConnections: () => 0,
    busConnected: () => 0,
  };

  const m = {
    registry,
    probes,
    buildInfo: new Gauge({
      name: 'chatstorm_build_info',
      help: 'Always 1; labels carry the chatstorm version and Node.js version (`node` is the node id, on every metric).',
      labelNames: ['version', 'nodejs'] as const,
      registers: [registry],
    }),
    uwsFallback: new Gauge({
      name: 'chatstorm_uws_fallback',
      help: '1 when uWebSockets.js runs its pure-JS fallback instead of the native build (throughput is then far lower).',
      registers: [registry],
    }),
    // Read at scrape time from the count every connection keeps anyway: no gauge call per connection.
    connections: new Gauge({
      name: 'chatstorm_connections',
      help: 'WebSocket connections open on this node.',
      registers: [registry],
      collect() {
        this.set(probes.openConnections());
      },
    }),
    connectionsOpened: new Counter({
      name: 'chatstorm_connections_opened_total',
      help: 'WebSocket connections accepted.',
      registers: [registry],
      collect: foldTallies,
    }),
    connectionsClosed: new Counter({
      name: 'chatstorm_connections_closed_total',
      help: 'WebSocket connections closed, by reason (messaging/disconnect-reasons.ts).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    handshakes: new Counter({
      name: 'chatstorm_handshakes_total',
      help: 'WebSocket upgrade requests, by outcome.',
      labelNames: ['outcome'] as const,
      registers: [registry],
      collect: foldTallies,
    }),
    handshakeDuration: new Histogram({
      name: 'chatstorm_handshake_duration_seconds',
      help: 'Time from upgrade request to accept or refusal.',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
      collect: foldTallies,
    }),
    tokensCreated: new Counter({
      name: 'chatstorm_tokens_created_total',
      help: 'Chat tokens minted by CreateChatToken.',
      registers: [registry],
    }),
    tokensUsed: new Counter({
      name: 'chatstorm_tokens_used_total',
      help: 'Chat tokens accepted at a WebSocket handshake.',
      registers: [registry],
      collect: foldTallies,
    }),
    tokensRejected: new Counter({
      name: 'chatstorm_tokens_rejected_total',
      help: 'Chat tokens refused at a WebSocket handshake, by reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    requests: new Counter({
      name: 'chatstorm_requests_total',
      help: 'WebSocket requests from clients, by action and outcome (ok or error).',
      labelNames: ['action', 'outcome'] as const,
      registers: [registry],
      collect: foldTallies,
    }),
    errorFrames: new Counter({
      name: 'chatstorm_error_frames_total',
      help: 'ERROR frames sent to clients, by ErrorCode.',
      labelNames: ['code'] as const,
      registers: [registry],
    }),
    publishes: new Counter({
      name: 'chatstorm_fanout_publishes_total',
      help: 'Frames published to a room (one per message or event, whatever the audience).',
      labelNames: ['type'] as const,
      registers: [registry],
      collect: foldTallies,
    }),
    deliveries: new Counter({
      name: 'chatstorm_fanout_deliveries_total',
      help: 'Frames handed to subscribers on this node (publishes times subscribers).',
      labelNames: ['type'] as const,
      registers: [registry],
      collect: foldTallies,
    }),
    deliveredBytes: new Counter({
      name: 'chatstorm_fanout_delivered_bytes_total',
      help: 'Payload bytes handed to subscribers on this node.',
      labelNames: ['type'] as const,
      registers: [registry],
      collect: foldTallies,
    }),
    publishDuration: new Histogram({
      name: 'chatstorm_fanout_publish_duration_seconds',
      help: 'Time one publish takes to write a frame into every subscriber socket of the room on this node.',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
      collect: foldTallies,
    }),
    messageDuration: new Histogram({
      name: 'chatstorm_message_processing_duration_seconds',
      help: 'Time from a SEND_MESSAGE frame arriving to its MESSAGE being published (includes review).',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
      collect: foldTallies,
    }),
    rateLimited: new Counter({
      name: 'chatstorm_rate_limited_total',
      help: 'Requests refused by a rate limit, by limit.',
      labelNames: ['limit'] as const,
      registers: [registry],
    }),
    reviews: new Counter({
      name: 'chatstorm_review_results_total',
      help: 'Message review handler results, by outcome (fallback_* when the handler failed or timed out).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    reviewDuration: new Histogram({
      name: 'chatstorm_review_duration_seconds',
      help: 'Time the message review handler took to answer (or to time out).',
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    slowConsumers: new Counter({
      name: 'chatstorm_slow_consumers_total',
      help: 'Receivers that hit the backpressure limit, by what the server did to them.',
      labelNames: ['action'] as const,
      registers: [registry],
    }),
    // The counter only moves once a receiver is cut; this gauge shows the ones heading there, so a
    // dashboard can tell a room that is about to shed viewers from one that is merely busy.
    congestedConnections: new Gauge({
      name: 'chatstorm_backpressure_congested_connections',
      help: 'Connections whose send buffer held half the backpressure limit or more at the last sample.',
      registers: [registry],
      collect() {
        this.set(probes.congestedConnections());
      },
    }),
    bufferedBytes: new Gauge({
      name: 'chatstorm_backpressure_buffered_bytes',
      help: 'Bytes waiting in socket send buffers across all connections on this node (sampled once a second).',
      registers: [registry],
      collect() {
        this.set(probes.bufferedBytes());
      },
    }),
    rooms: new Gauge({
      name: 'chatstorm_rooms',
      help: 'Rooms that exist (in the store).',
      registers: [registry],
      async collect() {
        this.set(await probes.rooms());
      },
    }),
    activeRooms: new Gauge({
      name: 'chatstorm_rooms_active',
      help: 'Rooms with at least one connection on this node.',
      registers: [registry],
      collect() {
        this.set(probes.activeRooms());
      },
    }),
    apiRequests: new Counter({
      name: 'chatstorm_api_requests_total',
      help: 'Control-plane HTTP requests, by operation and status code.',
      labelNames: ['operation', 'status'] as const,
      registers: [registry],
    }),
    httpBodiesRefused: new Counter({
      name: 'chatstorm_http_bodies_refused_total',
      help: 'Control-plane request bodies refused unread: too_large (drained, connection kept), too_large_cut (past the drain bound, connection closed), timeout (slower than --http-body-timeout-seconds, connection closed).',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    apiDuration: new Histogram({
      name: 'chatstorm_api_request_duration_seconds',
      help: 'Control-plane HTTP request duration, by operation.',
      labelNames: ['operation'] as const,
      buckets: LATENCY_BUCKETS,
      registers: [registry],
    }),
    // Per-room series exist only with --metrics-room-labels N (see rooms/room-labels.ts): the
    // first N rooms get their own label, the rest share room="_other", so totals still add up.
    roomConnections: new Gauge({
      name: 'chatstorm_room_connections',
      help: 'Connections on this node per room (with --metrics-room-labels; rooms past the cap are summed as room="_other").',
      labelNames: ['room'] as const,
      registers: [registry],
    }),
    roomPublishes: new Counter({
      name: 'chatstorm_room_publishes_total',
      help: 'Frames published per room (with --metrics-room-labels; rooms past the cap are summed as room="_other").',
      labelNames: ['room', 'type'] as const,
      registers: [registry],
    }),
    roomDeliveries: new Counter({
      name: 'chatstorm_room_deliveries_total',
      help: 'Frames handed to subscribers on this node per room (with --metrics-room-labels; rooms past the cap are summed as room="_other").',
      labelNames: ['room', 'type'] as const,
      registers: [registry],
    }),
    apiAuthRefusals: new Counter({
      name: 'chatstorm_api_auth_refusals_total',
      help: 'Control-plane requests refused by --auth sigv4 (HTTP 403), by reason.',
      labelNames: ['reason'] as const,
      registers: [registry],
    }),
    tokenKeyReloads: new Counter({
      name: 'chatstorm_token_key_reloads_total',
      help: 'Re-reads of --token-key-file on SIGHUP, by outcome (on error the keys in use stay).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    tokenKeys: new Gauge({
      name: 'chatstorm_token_keys',
      help: 'Chat token keys accepted at the handshake (the current one plus previous ones kept for rotation).',
      registers: [registry],
    }),
    chatLogRecords: new Counter({
      name: 'chatstorm_chat_log_records_total',
      help: 'Records written to logging-configuration destinations, by destination type.',
      labelNames: ['destination'] as const,
      registers: [registry],
    }),
    // The cross-node bus (--redis-url). Without it these stay at zero: the embedded bus has no other node.
    busPublished: new Counter({
      name: 'chatstorm_bus_published_total',
      help: 'Frames and control events this node published to the other nodes (one per call, whatever the number of nodes), by type.',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    busReceived: new Counter({
      name: 'chatstorm_bus_received_total',
      help: 'Frames and control events from other nodes applied to this node\'s connections, by type.',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    busFailed: new Counter({
      name: 'chatstorm_bus_failed_total',
      help: 'Publishes that could not reach the other nodes (Redis unreachable): applied on this node only and answered with a 500, by type.',
      labelNames: ['type'] as const,
      registers: [registry],
    }),
    busConnected: new Gauge({
      name: 'chatstorm_bus_connected',
      help: '1 while this node is connected to the cross-node bus (Redis); 0 while it is away or without --redis-url.',
      registers: [registry],
      collect() {
        this.set(probes.busConnected());
      },
    }),
    storageWriteErrors: new Counter({
      name: 'chatstorm_storage_write_errors_total',
      help: 'Failed writes to the data dir, by file (store.json, used-tokens.log, chat logs); what they carried was refused with a 500.',
      labelNames: ['file'] as const,
      registers: [registry],
    }),
    redisErrors: new Counter({
      name: 'chatstorm_redis_errors_total',
      help: 'Redis commands that failed (Redis away, timed out or refusing), by what they were for.',
      labelNames: ['use'] as const,
      registers: [registry],
    }),
  };

  m.buildInfo.labels(options.version, process.version).set(1);
  m.uwsFallback.set(options.uwsFallback ? 1 : 0);
  // Zero the closed label sets so rate() and absent() work from the first scrape.
  for (const reason of DISCONNECT_REASON_LABELS) m.connectionsClosed.labels(reason).inc(0);
  for (const outcome of HANDSHAKE_OUTCOMES) m.handshakes.labels(outcome).inc(0);
  for (const reason of TOKEN_REJECTION_REASONS) m.tokensRejected.labels(reason).inc(0);
  for (const action of WS_ACTIONS) {
    for (const outcome of REQUEST_OUTCOMES) m.requests.labels(action, outcome).inc(0);
  }
  for (const code of ERROR_CODES) m.errorFrames.labels(String(code)).inc(0);
  for (const type of FRAME_TYPES) {
    m.publishes.labels(type).inc(0);
    m.deliveries.labels(type).inc(0);
    m.deliveredBytes.labels(type).inc(0);
  }
  for (const outcome of REVIEW_OUTCOMES) m.reviews.labels(outcome).inc(0);
  for (const limit of RATE_LIMITS) m.rateLimited.labels(limit).inc(0);
  for (const reason of HTTP_BODY_REFUSALS) m.httpBodiesRefused.labels(reason).inc(0);
  for (const action of SLOW_CONSUMER_ACTIONS) m.slowConsumers.labels(action).inc(0);
  for (const file of STORAGE_FILES) m.storageWriteErrors.labels(file).inc(0);
  for (const use of REDIS_USES) m.redisErrors.labels(use).inc(0);
  for (const type of BUS_MESSAGE_TYPES) {
    m.busPublished.labels(type).inc(0);
    m.busReceived.labels(type).inc(0);
    m.busFailed.labels(type).inc(0);
  }
  for (const reason of AUTH_REFUSAL_REASONS) m.apiAuthRefusals.labels(reason).inc(0);
  for (const outcome of RELOAD_OUTCOMES) m.tokenKeyReloads.labels(outcome).inc(0);
  return { ...m, hot: hotTallies(m) };
}

/**
 * The per-message and per-handshake counts, as plain numbers added to the metrics above at scrape
 * time (metric-tally.ts): the same series, exact, without prom-client's cost on every call.
 */
function hotTallies(m: {
  connectionsOpened: Counter;
  handshakes: Counter<'outcome'>;
  handshakeDuration: Histogram;
  tokensUsed: Counter;
  requests: Counter<'action' | 'outcome'>;
  publishes: Counter<'type'>;
  deliveries: Counter<'type'>;
  deliveredBytes: Counter<'type'>;
  publishDuration: Histogram;
  messageDuration: Histogram;
}) {
  const byType = (counter: Counter<'type'>) => ({ MESSAGE: counterTally(counter, { type: 'MESSAGE' }), EVENT: counterTally(counter, { type: 'EVENT' }) });
  const requests = {} as Record<WsActionLabel, Record<(typeof REQUEST_OUTCOMES)[number], Tally>>;
  for (const action of WS_ACTIONS) requests[action] = { ok: counterTally(m.requests, { action, outcome: 'ok' }), error: counterTally(m.requests, { action, outcome: 'error' }) };
  const handshakes = {} as Record<HandshakeOutcome, Tally>;
  for (const outcome of HANDSHAKE_OUTCOMES) handshakes[outcome] = counterTally(m.handshakes, { outcome });
  return {
    connectionsOpened: counterTally(m.connectionsOpened),
    handshakes,
    handshakeDuration: new HistogramTally(m.handshakeDuration, LATENCY_BUCKETS),
    tokensUsed: counterTally(m.tokensUsed),
    requests,
    publishes: byType(m.publishes),
    deliveries: byType(m.deliveries),
    deliveredBytes: byType(m.deliveredBytes),
    publishDuration: new HistogramTally(m.publishDuration, LATENCY_BUCKETS),
    messageDuration: new HistogramTally(m.messageDuration, LATENCY_BUCKETS),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
