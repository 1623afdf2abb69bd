import { createRequire } from 'node:module';
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { ArnFormat } from './arn.ts';
import { ChatLog } from './chat-logging/chat-log.ts';
import type { ChatstormConfig } from './config.ts';
import type { Context } from './context.ts';
import { ApiQuotas } from './control-plane/api-quotas.ts';
import { registerControlPlane } from './control-plane/router.ts';
import type { Bus } from './bus/bus.ts';
import { EmbeddedBus } from './bus/embedded-bus.ts';
import { LocalHub } from './bus/local-hub.ts';
import { RedisBus } from './bus/redis-bus.ts';
import { createLogger, type Logger } from './log.ts';
import { BackpressureMonitor } from './messaging/backpressure-monitor.ts';
import { disconnect } from './messaging/disconnect-reasons.ts';
import { DELETE_MESSAGE_RATE } from './moderation/moderation-events.ts';
import { SessionExpiry } from './messaging/session-expiry.ts';
import { chatWebSocketBehavior } from './messaging/websocket.ts';
import { createMetrics, type Metrics } from './metrics.ts';
import { MessageReviewer } from './review/review-message.ts';
import { LiveRooms } from './rooms/live-rooms.ts';
import { RoomLabels } from './rooms/room-labels.ts';
import { openRedisServices } from './redis/redis-services.ts';
import { EmbeddedStore } from './store/embedded-store.ts';
import type { Store } from './store/store.ts';
import { writeHealths } from './store/write-health.ts';
import { TokenBucket } from './token-bucket.ts';
import { ChatTokenCipher } from './tokens/chat-token.ts';
import { reloadTokenKeys } from './tokens/token-keys.ts';
import { loadUws, UWS_FALLBACK_HELP } from './uws.ts';

export const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

export class UwsFallbackError extends Error {
  override name = 'UwsFallbackError';
}

export interface RunningServer {
  /** http://host:port — the control plane; the same with ws:// is the messaging endpoint. */
  readonly url: string;
  readonly port: number;
  readonly metricsUrl: string;
  readonly ctx: Context;
  /** Re-reads --token-key-file (SIGHUP); false when there is none or it is invalid, the keys in use then stay. */
  reloadTokenKeys(): Promise<boolean>;
  /** Stops accepting, closes every socket with 1001, flushes the store. */
  close(): Promise<void>;
}

/** Builds every service, wires them into one uWS app, and listens. main.ts only adds signals. */
export async function startServer(config: ChatstormConfig, log: Logger = createLogger(config.logLevel)): Promise<RunningServer> {
  const { uws, native } = loadUws();
  if (!native) {
    if (!config.allowUwsFallback) throw new UwsFallbackError(UWS_FALLBACK_HELP);
    log.warn('RUNNING ON THE PURE-JS uWebSockets.js FALLBACK: throughput figures from this server are meaningless');
  }

  const metrics = createMetrics({ uwsFallback: !native, version: VERSION, nodeId: config.nodeId });
  // Keys first: a bad --token-key-file stops start-up before anything is opened.
  const tokens = await ChatTokenCipher.load(config.dataDir, config.tokenKey, config.tokenKeyFile);
  metrics.tokenKeys.set(1 + tokens.keys.previous.length);
  const health = writeHealths(metrics, log);
  const redis = config.redisUrl === undefined ? undefined : await openRedisServices(config.redisUrl, metrics, log);
  const store: Store = redis?.store ?? (await EmbeddedStore.open(config.dataDir, { persistUsedTokens: config.persistUsedTokens, health }));
  const arns = new ArnFormat(config.region, config.accountId);
  const app = uws.App();
  const rooms = new LiveRooms(store, (arn) => arns.idOf(arn, 'logging-configuration'), new RoomLabels(metrics, config.metricsRoomLabels));
  const hub = new LocalHub(app, rooms, metrics);
  const bus: Bus = config.redisUrl ? await RedisBus.connect(config.redisUrl, hub, metrics, log) : new EmbeddedBus(hub);
  const ctx: Context = {
    config,
    log,
    metrics,
    store,
    bus,
    rooms,
    tokens,
    arns,
    chatLog: new ChatLog(config.dataDir, metrics, health.chat_log),
    reviewer: new MessageReviewer(config.reviewTimeoutMs, metrics),
    apiQuotas: new ApiQuotas(config.limits.apiQuotas, redis?.buckets),
    deleteMessageBudget: new TokenBucket(DELETE_MESSAGE_RATE),
    connections: { count: 0 },
    fleetConnections: redis?.connections,
    sharedBuckets: redis?.buckets,
  };
  const sessions = new SessionExpiry(ctx);

  // While the store is unreachable (Redis away) /metrics still answers, with the last count known:
  // that is when its other series matter most.
  let roomCount = 0;
  metrics.probes.rooms = () => store.countRooms().then((count) => (roomCount = count), () => roomCount);
  metrics.probes.activeRooms = () => rooms.activeRoomCount();
  const backpressure = new BackpressureMonitor(rooms, config.maxBackpressureBytes, config.slowConsumerMs);
  metrics.probes.bufferedBytes = () => backpressure.bufferedBytes;
  metrics.probes.openConnections = () => ctx.connections.count;
  metrics.probes.congestedConnections = () => backpressure.congested;

  app.ws('/*', chatWebSocketBehavior(ctx, sessions, uws.DISABLED));
  app.get('/healthz', (res) => {
    res.writeHeader('content-type', 'application/json').end('{"status":"ok"}');
  });
  serveMetrics(app, metrics);
  registerControlPlane(app, ctx);

  const listenSocket = await listen(app, config.host, config.port);
  const port = uws.us_socket_local_port(listenSocket as never);
  const url = `http://${formatHost(config.host)}:${port}`;

  let metricsListenSocket: us_listen_socket | undefined;
  let metricsUrl = `${url}/metrics`;
  if (config.metricsPort !== undefined) {
    const metricsApp = uws.App();
    serveMetrics(metricsApp, metrics);
    metricsListenSocket = await listen(metricsApp, config.host, config.metricsPort);
    metricsUrl = `http://${formatHost(config.host)}:${uws.us_socket_local_port(metricsListenSocket as never)}/metrics`;
  }
  log.info({ url, metricsUrl, native }, `chatstorm listening on ${url}`);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      uws.us_listen_socket_close(listenSocket);
      if (metricsListenSocket) uws.us_listen_socket_close(metricsListenSocket);
      for (const ws of [...rooms.allSockets()]) disconnect(ws, 'shutdown');
      sessions.stop();
      backpressure.stop();
      rooms.stop();
      await ctx.bus.close();
      await ctx.chatLog.close();
      await store.close();
      await redis?.close();
      log.info('chatstorm stopped');
    })());

  return { url, port, metricsUrl, ctx, close, reloadTokenKeys: () => reloadTokenKeys(ctx) };
}

function serveMetrics(app: TemplatedApp, metrics: Metrics): void {
  app.get('/metrics', (res) => {
    let aborted = false;
    res.onAborted(() => {
      aborted = true;
    });
    metrics.registry.metrics().then(
      (text) => {
        if (aborted) return;
        res.cork(() => res.writeHeader('content-type', metrics.registry.contentType).end(text));
      },
      (error: unknown) => {
        // A failed collection answers 500 rather than leave the scraper waiting.
        if (aborted) return;
        res.cork(() => res.writeStatus('500 Internal Server Error').end(`cannot collect metrics: ${(error as Error).message}\n`));
      },
    );
  });
}

function listen(app: TemplatedApp, host: string, port: number): Promise<us_listen_socket> {
  return new Promise((resolve, reject) => {
    app.listen(host, port, (socket) => {
      if (socket) resolve(socket);
      else reject(new Error(`cannot listen on ${host}:${port} (in use, or not an address of this machine)`));
    });
  });
}

function formatHost(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}
