import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { RedisHealth } from '../redis/redis-health.ts';

/** A node that has not reported for this long is gone (crashed): its connections stop counting. */
const NODE_EXPIRY_MS = 15_000;
const REPORT_INTERVAL_MS = 5_000;

/**
 * Every node writes its own count (absolute, never an increment), stamps itself alive, drops the
 * counts of nodes not seen for NODE_EXPIRY_MS, and, for a reservation, checks the fleet's sum first.
 * ARGV: node, count, expiry ms, limit (0 = only report). Returns 1 when the count was written.
 */
const REPORT_SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local node = ARGV[1]
local count = tonumber(ARGV[2])
local limit = tonumber(ARGV[4])
local gone = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now)
for _, other in ipairs(gone) do
  if other ~= node then
    redis.call('HDEL', KEYS[1], other)
    redis.call('ZREM', KEYS[2], other)
  end
end
if limit > 0 then
  local others = 0
  local counts = redis.call('HGETALL', KEYS[1])
  for i = 1, #counts, 2 do
    if counts[i] ~= node then others = others + tonumber(counts[i + 1]) end
  end
  if others + count > limit then return 0 end
end
redis.call('HSET', KEYS[1], node, count)
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), node)
return 1
`;

type WithReport = Redis & { chatstormReportConnections(counts: string, alive: string, node: string, count: number, expiryMs: number, limit: number): Promise<number> };

/**
 * The concurrent-connections quota across the fleet (with --redis-url). Each node keeps, in a Redis
 * hash, the number of connections it holds (open, or being accepted); a handshake reserves one
 * more only if the fleet's sum stays within the limit. Counts are absolute, so a lost update (Redis
 * away, a reply lost) is corrected by the node's next report; a crashed node stops reporting and
 * its count is dropped after NODE_EXPIRY_MS, so its connections do not hold the quota for ever.
 *
 * While Redis fails, reservations fall back to this node's own count against the limit (counted in
 * chatstorm_redis_errors_total{use="connection_quota"}); handshakes fail then anyway, as their
 * token cannot be recorded.
 */
export class FleetConnections {
  private readonly redis: WithReport;
  private readonly node = randomUUID();
  private readonly timer: NodeJS.Timeout;
  /** Connections this node holds: open ones plus reservations of handshakes under way. */
  private held = 0;

  private readonly prefix: string;
  private readonly expiryMs: number;

  constructor(
    redis: Redis,
    private readonly health: RedisHealth,
    options: { prefix?: string; expiryMs?: number; reportIntervalMs?: number } = {},
  ) {
    this.prefix = options.prefix ?? 'chatstorm:';
    this.expiryMs = options.expiryMs ?? NODE_EXPIRY_MS;
    redis.defineCommand('chatstormReportConnections', { numberOfKeys: 2, lua: REPORT_SCRIPT });
    this.redis = redis as WithReport;
    this.timer = setInterval(() => void this.report(0).catch(() => undefined), options.reportIntervalMs ?? REPORT_INTERVAL_MS);
    this.timer.unref();
  }

  /** True when one more connection fits in the fleet's `limit`; release() it when refused later or closed. */
  async reserve(limit: number): Promise<boolean> {
    this.held++;
    let reserved: boolean;
    try {
      reserved = await this.report(limit);
    } catch {
      reserved = this.held <= limit;
    }
    if (!reserved) this.held--;
    return reserved;
  }

  release(): void {
    this.held--;
    void this.report(0).catch(() => undefined);
  }

  /** Stops reporting, as a crashed node does (its count then expires). */
  stopReporting(): void {
    clearInterval(this.timer);
  }

  /** Forgets this node's count at once (a clean shutdown), rather than after NODE_EXPIRY_MS. */
  async close(): Promise<void> {
    this.stopReporting();
    await this.redis
      .multi()
      .hdel(`${this.prefix}connections`, this.node)
      .zrem(`${this.prefix}connection-nodes`, this.node)
      .exec()
      .catch(() => undefined);
  }

  private async report(limit: number): Promise<boolean> {
    try {
      const written = await this.redis.chatstormReportConnections(
        `${this.prefix}connections`,
        `${this.prefix}connection-nodes`,
        this.node,
        this.held,
        this.expiryMs,
        limit,
      );
      return written === 1;
    } catch (error) {
      throw this.health.failed('connection_quota', error);
    }
  }
}
