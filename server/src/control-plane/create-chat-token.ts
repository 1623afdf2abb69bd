import { z } from 'zod';
import { CAPABILITIES, capabilityMask } from '../tokens/capabilities.ts';
import { defineOperation } from './operation.ts';
import { findRoom } from './resources.ts';
import { arnIdentifier, attributes, userId } from './schemas.ts';

/**
 * Mints an encrypted, single-use chat token. tokenExpirationTime is --token-lifetime-seconds
 * after now (default 60 minutes, as a 2024 response of the real service shows) and never past the
 * session's end. The messaging SDK reconnects with a fresh token 60 s before it, so this value is
 * the connection churn of SDK clients.
 */
export const createChatToken = defineOperation({
  name: 'CreateChatToken',
  input: z.object({
    roomIdentifier: arnIdentifier,
    userId,
    capabilities: z.array(z.enum(CAPABILITIES)).optional(),
    sessionDurationInMinutes: z.number().int().min(1).max(180).optional(),
    attributes: attributes.optional(),
  }),
  resourceId: (input) => input.roomIdentifier,
  async handle(ctx, input) {
    const room = await findRoom(ctx, input.roomIdentifier);
    const now = Date.now();
    const sessionExpiresAt = now + (input.sessionDurationInMinutes ?? 60) * ctx.config.sessionMinuteSeconds * 1000;
    const tokenExpiresAt = Math.min(now + ctx.config.tokenLifetimeSeconds * 1000, sessionExpiresAt);
    const { token } = ctx.tokens.seal({
      roomId: room.id,
      userId: input.userId,
      attributes: input.attributes && Object.keys(input.attributes).length > 0 ? input.attributes : undefined,
      capabilities: capabilityMask(input.capabilities ?? []),
      tokenExpiresAt,
      sessionExpiresAt,
    });
    ctx.metrics.tokensCreated.inc();
    return {
      token,
      tokenExpirationTime: new Date(tokenExpiresAt).toISOString(),
      sessionExpirationTime: new Date(sessionExpiresAt).toISOString(),
    };
  },
});
