import type { Logger } from 'pino';
import type { ArnFormat } from './arn.ts';
import type { ChatLog } from './chat-logging/chat-log.ts';
import type { ChatstormConfig } from './config.ts';
import type { ApiQuotas } from './control-plane/api-quotas.ts';
import type { Bus } from './bus/bus.ts';
import type { FleetConnections } from './messaging/connection-quota.ts';
import type { Metrics } from './metrics.ts';
import type { SharedTokenBuckets } from './redis/shared-token-bucket.ts';
import type { MessageReviewer } from './review/review-message.ts';
import type { LiveRooms } from './rooms/live-rooms.ts';
import type { Store } from './store/store.ts';
import type { TokenBucket } from './token-bucket.ts';
import type { ChatTokenCipher } from './tokens/chat-token.ts';

/** The services every operation and action is given; built once in server.ts. */
export interface Context {
  readonly config: ChatstormConfig;
  readonly log: Logger;
  readonly metrics: Metrics;
  readonly store: Store;
  /** Frames and room-wide actions to every node's connections of a room. */
  readonly bus: Bus;
  readonly rooms: LiveRooms;
  readonly tokens: ChatTokenCipher;
  readonly arns: ArnFormat;
  readonly chatLog: ChatLog;
  readonly reviewer: MessageReviewer;
  readonly apiQuotas: ApiQuotas;
  /** DeleteMessage across all rooms, HTTP and WebSocket together (100/s in the real service). */
  readonly deleteMessageBudget: TokenBucket;
  /** Open WebSocket connections on this node, for the concurrent-connections quota. */
  readonly connections: { count: number };
  /** With --redis-url: the concurrent-connections quota across every node. */
  readonly fleetConnections: FleetConnections | undefined;
  /** With --redis-url: the room rates and request quotas as buckets shared by every node. */
  readonly sharedBuckets: SharedTokenBuckets | undefined;
}
