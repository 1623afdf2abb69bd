import type { Logger } from '../log.ts';
import type { Metrics, RedisUse } from '../metrics.ts';
import { StorageWriteError } from '../store/write-health.ts';

/** At most one error line per use in this window, however many commands fail. */
const LOG_WINDOW_MS = 30_000;

/**
 * A Redis command failed, so the request that needed it is refused with the protocol's 500. It is
 * a StorageWriteError because callers treat both alike: refuse, and do not log again (counted and
 * logged here already).
 */
export class RedisUnavailableError extends StorageWriteError {
  override name = 'RedisUnavailableError';
  constructor(use: RedisUse, cause: unknown) {
    super(use === 'token' ? 'token_log' : 'store', `redis (${use})`, cause);
  }
}

/** Counts failed Redis commands by use (chatstorm_redis_errors_total) and logs the first of each burst. */
export class RedisHealth {
  private readonly lastLog = new Map<RedisUse, number>();
  private readonly suppressed = new Map<RedisUse, number>();

  constructor(
    private readonly metrics: Metrics | undefined,
    private readonly log: Logger | undefined,
  ) {}

  failed(use: RedisUse, error: unknown): RedisUnavailableError {
    this.metrics?.redisErrors.labels(use).inc();
    const now = Date.now();
    if (now - (this.lastLog.get(use) ?? -Infinity) >= LOG_WINDOW_MS) {
      this.log?.error(
        { err: error, use, failuresNotLogged: this.suppressed.get(use) ?? 0 },
        use === 'quota' || use === 'connection_quota'
          ? `Redis command for the fleet-wide ${use === 'quota' ? 'quotas' : 'connection quota'} failed: this node applies its own limit until Redis answers`
          : `Redis command for the ${use} failed: requests that need it are refused with 500 until Redis answers`,
      );
      this.lastLog.set(use, now);
      this.suppressed.set(use, 0);
    } else {
      this.suppressed.set(use, (this.suppressed.get(use) ?? 0) + 1);
    }
    return new RedisUnavailableError(use, error);
  }
}
