import type { Redis } from 'ioredis';
import type { Logger } from '../log.ts';
import { FleetConnections } from '../messaging/connection-quota.ts';
import type { Metrics } from '../metrics.ts';
import { RedisStore } from '../store/redis-store.ts';
import { createRedisClient, redisReady } from './redis-client.ts';
import { RedisHealth } from './redis-health.ts';
import { SharedTokenBuckets } from './shared-token-bucket.ts';

/** What --redis-url gives a node: the fleet's store, its quota buckets and its connection count, on one connection. */
export interface RedisServices {
  readonly client: Redis;
  readonly store: RedisStore;
  readonly buckets: SharedTokenBuckets;
  readonly connections: FleetConnections;
  close(): Promise<void>;
}

/** A node does not start without its Redis (it could serve nothing); once started it outlives Redis outages. */
export async function openRedisServices(url: string, metrics: Metrics, log: Logger): Promise<RedisServices> {
  const client = createRedisClient(url, log, 'chatstorm-store');
  try {
    await redisReady(client, url);
  } catch (error) {
    client.disconnect();
    throw error;
  }
  const health = new RedisHealth(metrics, log);
  const connections = new FleetConnections(client, health);
  return {
    client,
    store: new RedisStore(client, health),
    buckets: new SharedTokenBuckets(client, health),
    connections,
    async close() {
      await connections.close();
      if (client.status === 'ready') await client.quit().catch(() => undefined);
      client.disconnect();
    },
  };
}
