import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log.ts';

/** Reconnect attempts back off to this, and go on for ever: a node recovers by itself when Redis returns. */
const MAX_RECONNECT_DELAY_MS = 2_000;
/** A Redis that accepts the connection but does not answer fails commands after this, rather than hang requests. */
const COMMAND_TIMEOUT_MS = 2_000;

/**
 * The one place a Redis connection is made (the store, the quotas and the message bus each hold
 * their own). While Redis is away commands fail at once instead of queueing: the caller answers
 * with the protocol's error and counts it, and a request never waits for a reconnection.
 * `options` adjust a connection to its use (the bus's subscriber, auto-pipelining).
 */
export function createRedisClient(url: string, log: Logger, name = 'chatstorm', options: RedisOptions = {}): Redis {
  const client = new Redis(url, {
    connectionName: name,
    lazyConnect: false,
    enableOfflineQueue: false,
    // A command sent just before the connection dropped is retried once on the new connection at most.
    maxRetriesPerRequest: 1,
    commandTimeout: COMMAND_TIMEOUT_MS,
    retryStrategy: (attempt) => Math.min(50 * 2 ** Math.min(attempt, 10), MAX_RECONNECT_DELAY_MS),
    ...options,
  });
  // One line per state change, not per retry: a Redis away for an hour must not flood the log.
  let lostAt: number | undefined;
  client.on('error', (error: Error) => {
    if (lostAt !== undefined) return;
    lostAt = Date.now();
    log.error({ err: error, redis: name }, 'Redis unreachable: reconnecting in the background');
  });
  client.on('ready', () => {
    if (lostAt === undefined) return;
    log.warn({ redis: name, awaySeconds: (Date.now() - lostAt) / 1000 }, 'Redis reachable again');
    lostAt = undefined;
  });
  return client;
}

/** Resolves once the client is connected, or rejects with what stood in the way after `timeoutMs`. */
export function redisReady(client: Redis, url: string, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    let lastError: Error | undefined;
    const onError = (error: Error) => {
      lastError = error;
    };
    const timer = setTimeout(() => {
      client.off('ready', onReady);
      client.off('error', onError);
      reject(new Error(`Redis at ${redactUrl(url)} is not reachable after ${timeoutMs / 1000} s (${lastError?.message ?? 'no answer'})`));
    }, timeoutMs);
    const onReady = () => {
      clearTimeout(timer);
      client.off('error', onError);
      resolve();
    };
    client.once('ready', onReady);
    client.on('error', onError);
  });
}

/** The URL without its password, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^@/]*):([^@/]*)@/, '//$1:***@');
}
