import { z } from 'zod';
import { parseDurationMs } from '../lib/duration.ts';
import type { Profile } from '../lib/profile.ts';
import { SOAK_SERIES } from '../lib/soak-verdict.ts';
import { parseThreshold } from '../lib/thresholds.ts';

// Checks a resolved profile (file + flags) before anything connects, so a typo in a flag fails in
// the first second with the field's name instead of a minute into the run.

const duration = z.string().refine(
  (text) => {
    try {
      parseDurationMs(text);
      return true;
    } catch {
      return false;
    }
  },
  { message: 'a duration such as 500ms, 30s, 2m' },
);
const share = z.number().min(0).max(1);
const count = z.number().int().nonnegative();

export const ProfileSchema = z.strictObject({
  name: z.string().regex(/^[a-z][a-z0-9-]*$/),
  description: z.string(),
  duration: duration.refine((t) => parseDurationMs(t) > 0, { message: 'must be longer than 0' }),
  rampUp: duration,
  steps: count,
  stepBy: z.enum(['viewers', 'rate']),
  drain: duration,
  viewers: z.number().int().positive(),
  rooms: z.number().int().positive(),
  hotRoomShare: share,
  chattersPerRoom: count,
  rate: z.number().nonnegative(),
  messageBytes: z.number().int().min(1).max(500),
  connectRate: z.number().nonnegative(),
  sessionDurationMinutes: z.number().int().min(1).max(180),
  reconnect: z.strictObject({
    afterDisconnectUser: z.boolean(),
    afterSessionExpiry: z.boolean(),
    afterServerClose: z.boolean(),
    afterError: z.boolean(),
    delay: duration,
  }),
  churn: z.strictObject({
    leavePerSecond: share,
    rejoinDelay: duration,
    storms: z.array(z.strictObject({ at: duration, leave: share })),
  }),
  moderation: z.strictObject({
    deleteMessagePerSecond: z.number().nonnegative(),
    disconnectUserPerSecond: z.number().nonnegative(),
    httpShare: share,
  }),
  capacity: z.strictObject({ p99: duration, loss: share, stopOnBreak: z.boolean() }),
  settle: duration,
  thresholds: z.array(
    z.string().refine(
      (text) => {
        try {
          parseThreshold(text);
          return true;
        } catch {
          return false;
        }
      },
      { message: 'a threshold such as "p99 < 50ms", "loss == 0", "errors < 0.1%"' },
    ),
  ),
  replay: z
    .strictObject({
      path: z.string().min(1),
      speed: z.number().positive().max(10_000),
      keepContent: z.boolean().optional(),
      viewers: z.number().int().nonnegative().optional(),
      viewersPerRoom: z.number().int().nonnegative().optional(),
      room: z.string().min(1).max(128).optional(),
    })
    .optional(),
  soak: z
    .strictObject({
      warmup: duration.optional(),
      samplePeriod: duration.refine((t) => parseDurationMs(t) >= 100, { message: 'at least 100ms' }).optional(),
      checkpointEvery: duration.refine((t) => parseDurationMs(t) >= 100, { message: 'at least 100ms' }).optional(),
      limits: z.partialRecord(z.enum(SOAK_SERIES), z.number().nonnegative()).optional(),
    })
    .optional(),
}) satisfies z.ZodType<Profile>;

export function validateProfile(profile: Profile): Profile {
  const parsed = ProfileSchema.safeParse(profile);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((issue) => `  ${issue.path.join('.') || '(profile)'}: ${issue.message}`);
  throw new Error(`invalid profile "${profile.name}":\n${lines.join('\n')}`);
}
