/**
 * A token bucket that holds one second's worth of its rate: the shape of every per-second limit
 * of the real service (room message rate, API quotas). The rate is passed on each take so a room
 * whose limit changes (UpdateRoom) needs no new bucket.
 */
export class TokenBucket {
  private tokens: number;
  private refilledAt: number;

  constructor(initialRate: number, now = Date.now()) {
    this.tokens = initialRate;
    this.refilledAt = now;
  }

  take(ratePerSecond: number, now = Date.now()): boolean {
    const elapsed = now - this.refilledAt;
    if (elapsed > 0) {
      this.tokens = Math.min(ratePerSecond, this.tokens + (elapsed * ratePerSecond) / 1000);
      this.refilledAt = now;
    }
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }
}
