import type { Context } from '../context.ts';
import { apiErrors } from '../errors.ts';

/** maximumMessageRatePerSecond is 1–100 in the real service; --max-room-message-rate or --bench lifts the cap. */
export function checkMessageRate(ctx: Context, rate: number): void {
  const cap = ctx.config.limits.maxRoomMessageRate;
  if (rate > cap) {
    throw apiErrors.fieldValidation([
      { name: 'maximumMessageRatePerSecond', message: `must be at most ${cap} (raise with --max-room-message-rate or --bench)` },
    ]);
  }
}
