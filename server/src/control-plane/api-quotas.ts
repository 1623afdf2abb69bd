import { takeShared, type SharedTokenBuckets } from '../redis/shared-token-bucket.ts';
import { TokenBucket } from '../token-bucket.ts';
import type { OperationName } from './operation.ts';

/** Transactions per second per operation, per account and region (Chat User Guide quotas, none adjustable). */
export const API_QUOTAS: Record<OperationName, number> = {
  CreateChatToken: 200,
  SendEvent: 100,
  DeleteMessage: 100,
  DisconnectUser: 100,
  CreateRoom: 5,
  GetRoom: 5,
  UpdateRoom: 5,
  DeleteRoom: 5,
  ListRooms: 5,
  CreateLoggingConfiguration: 3,
  GetLoggingConfiguration: 3,
  UpdateLoggingConfiguration: 3,
  DeleteLoggingConfiguration: 3,
  ListLoggingConfigurations: 3,
  TagResource: 10,
  UntagResource: 10,
  ListTagsForResource: 10,
};

/**
 * The real service's request quotas (the fleet is one account). With --redis-url every node takes
 * from one bucket per operation in Redis; without, from its own. Off with --bench or
 * --api-quotas off, for load tests that mint far more than 200 tokens a second.
 */
export class ApiQuotas {
  private readonly buckets = new Map<OperationName, TokenBucket>();

  constructor(
    readonly enabled: boolean,
    private readonly shared?: SharedTokenBuckets,
  ) {}

  /** True when the call may proceed. */
  take(operation: OperationName): boolean | Promise<boolean> {
    if (!this.enabled) return true;
    const rate = API_QUOTAS[operation];
    return takeShared(this.shared, `api:${operation}`, rate, () => this.takeLocal(operation, rate));
  }

  private takeLocal(operation: OperationName, rate: number): boolean {
    const now = Date.now();
    let bucket = this.buckets.get(operation);
    if (!bucket) this.buckets.set(operation, (bucket = new TokenBucket(rate, now)));
    return bucket.take(rate, now);
  }
}
