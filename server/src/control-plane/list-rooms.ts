import { z } from 'zod';
import { defineOperation } from './operation.ts';
import { findLoggingConfiguration, paginate, roomSummary } from './resources.ts';
import { arnIdentifier, maxResults, nextToken, resourceName } from './schemas.ts';

export const listRooms = defineOperation({
  name: 'ListRooms',
  input: z.object({
    name: resourceName.optional(),
    nextToken: nextToken.optional(),
    maxResults: maxResults.optional(),
    messageReviewHandlerUri: z.string().max(170).optional(),
    loggingConfigurationIdentifier: arnIdentifier.optional(),
  }),
  async handle(ctx, input) {
    // Filtering by a logging configuration that does not exist is a ResourceNotFoundException.
    if (input.loggingConfigurationIdentifier) await findLoggingConfiguration(ctx, input.loggingConfigurationIdentifier);
    const rooms = (await ctx.store.listRooms()).filter(
      (room) =>
        (input.name === undefined || room.name === input.name) &&
        (input.messageReviewHandlerUri === undefined || room.messageReviewHandler.uri === input.messageReviewHandlerUri) &&
        (input.loggingConfigurationIdentifier === undefined ||
          room.loggingConfigurationIdentifiers.includes(input.loggingConfigurationIdentifier)),
    );
    const { page, nextToken } = paginate(rooms, input.nextToken, input.maxResults ?? 50);
    return nextToken ? { rooms: page.map(roomSummary), nextToken } : { rooms: page.map(roomSummary) };
  },
});
