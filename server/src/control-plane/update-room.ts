import { z } from 'zod';
import { apiErrors } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { checkLoggingConfigurations, findRoom, roomResponse } from './resources.ts';
import { checkMessageRate } from './room-limits.ts';
import { arnIdentifier, messageReviewHandler, resourceName, roomLoggingConfigurations } from './schemas.ts';

/** Changes apply to connected clients at once: the room's live settings reload on every node. */
export const updateRoom = defineOperation({
  name: 'UpdateRoom',
  input: z.object({
    identifier: arnIdentifier,
    name: resourceName.optional(),
    maximumMessageRatePerSecond: z.number().int().min(1).optional(),
    maximumMessageLength: z.number().int().min(1).max(500).optional(),
    messageReviewHandler: messageReviewHandler.optional(),
    loggingConfigurationIdentifiers: roomLoggingConfigurations.optional(),
  }),
  resourceId: (input) => input.identifier,
  async handle(ctx, input) {
    const found = await findRoom(ctx, input.identifier);
    if (input.maximumMessageRatePerSecond !== undefined) checkMessageRate(ctx, input.maximumMessageRatePerSecond);
    if (input.loggingConfigurationIdentifiers) await checkLoggingConfigurations(ctx, input.loggingConfigurationIdentifiers);
    // One read-modify-write: a concurrent TagResource or UpdateRoom (here or on another node) keeps its change.
    const room = await ctx.store.updateRoom(found.id, (room) => {
      if (input.name !== undefined) room.name = input.name;
      if (input.maximumMessageRatePerSecond !== undefined) room.maximumMessageRatePerSecond = input.maximumMessageRatePerSecond;
      if (input.maximumMessageLength !== undefined) room.maximumMessageLength = input.maximumMessageLength;
      if (input.messageReviewHandler) {
        const { uri, fallbackResult } = input.messageReviewHandler;
        // An empty uri removes the handler (and with it any fallback of its own).
        if (uri === '') room.messageReviewHandler = { uri: '', fallbackResult: 'ALLOW' };
        else {
          if (uri !== undefined) room.messageReviewHandler.uri = uri;
          if (fallbackResult !== undefined) room.messageReviewHandler.fallbackResult = fallbackResult;
        }
      }
      if (input.loggingConfigurationIdentifiers) room.loggingConfigurationIdentifiers = input.loggingConfigurationIdentifiers;
      room.updateTime = new Date().toISOString();
      return room;
    });
    if (!room) throw apiErrors.notFound(found.arn);
    await ctx.bus.roomChanged(room.id);
    return roomResponse(room);
  },
});
