import type { Redis } from 'ioredis';
import type { RedisUse } from '../metrics.ts';
import type { RedisHealth } from './redis-health.ts';

/**
 * token-bucket.ts's bucket (one second's worth of the rate), kept in Redis so that every node takes
 * from the same one. One script call per take: a single round trip, atomic, and timed by Redis's
 * own clock so that nodes with skewed clocks agree. A bucket untouched for two seconds is full, so
 * its key expires and an idle room or operation costs nothing.
 */
const TAKE_SCRIPT = `
local rate = tonumber(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local state = redis.call('HMGET', KEYS[1], 'at', 'tokens')
local at = tonumber(state[1])
local tokens = tonumber(state[2])
if at == nil or tokens == nil then
  at = now
  tokens = rate
end
if now > at then
  tokens = math.min(rate, tokens + (now - at) * rate / 1000000)
  at = now
end
local taken = 0
if tokens >= 1 then
  tokens = tokens - 1
  taken = 1
end
redis.call('HSET', KEYS[1], 'at', string.format('%.0f', at), 'tokens', string.format('%.17g', tokens))
redis.call('PEXPIRE', KEYS[1], 2000)
return taken
`;

type WithTake = Redis & { chatstormTakeToken(key: string, rate: number): Promise<number> };

export class SharedTokenBuckets {
  private readonly redis: WithTake;

  constructor(
    redis: Redis,
    private readonly health: RedisHealth,
    private readonly prefix = 'chatstorm:bucket:',
  ) {
    // defineCommand sends EVALSHA and falls back to EVAL when Redis has not seen the script yet.
    redis.defineCommand('chatstormTakeToken', { numberOfKeys: 1, lua: TAKE_SCRIPT });
    this.redis = redis as WithTake;
  }

  /** True when the bucket `name` allows one more at `ratePerSecond`; rejects (counted under `use`) when Redis fails. */
  async take(name: string, ratePerSecond: number, use: RedisUse = 'quota'): Promise<boolean> {
    try {
      return (await this.redis.chatstormTakeToken(`${this.prefix}${name}`, ratePerSecond)) === 1;
    } catch (error) {
      throw this.health.failed(use, error);
    }
  }
}

/**
 * Takes from the fleet's bucket, or from this node's `local` one while Redis fails (counted by
 * take). The direction is deliberate: a quota must not stop chat that otherwise works (local
 * fan-out goes on while Redis is away), and must not vanish either, so it falls back to the
 * per-node limit of a chatstorm without Redis.
 */
export function takeShared(
  shared: SharedTokenBuckets | undefined,
  name: string,
  ratePerSecond: number,
  local: () => boolean,
): boolean | Promise<boolean> {
  if (!shared) return local();
  return shared.take(name, ratePerSecond).catch(local);
}
