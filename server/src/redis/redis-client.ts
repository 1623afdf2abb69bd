import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';

/**
 * An ioredis connection to --redis-url that reconnects by itself (ioredis's backoff) and logs an
 * outage once, when it starts and when it ends, rather than once per retry.
 */
export function createRedisClient(url: string, log: Logger, options: RedisOptions = {}): Redis {
  const client = new Redis(url, options);
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    log.warn({ err: err.message, url: redactedUrl(url) }, 'redis unreachable; retrying');
  });
  client.on('ready', () => {
    if (down) log.info({ url: redactedUrl(url) }, 'redis reachable again');
    down = false;
  });
  return client;
}

/** The url without a password, for logs. */
function redactedUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return 'redis';
  }
}
