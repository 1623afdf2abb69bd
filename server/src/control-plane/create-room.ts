import { z } from 'zod';
import { apiErrors } from '../errors.ts';
import { newId } from '../ids.ts';
import { ROOM_DEFAULTS, type Room } from '../rooms/room.ts';
import { defineOperation } from './operation.ts';
import { checkLoggingConfigurations, roomResponse } from './resources.ts';
import { messageReviewHandler, resourceName, roomLoggingConfigurations, tags } from './schemas.ts';
import { checkMessageRate } from './room-limits.ts';

export const createRoom = defineOperation({
  name: 'CreateRoom',
  input: z.object({
    name: resourceName.optional(),
    maximumMessageRatePerSecond: z.number().int().min(1).optional(),
    maximumMessageLength: z.number().int().min(1).max(500).optional(),
    messageReviewHandler: messageReviewHandler.optional(),
    tags: tags.optional(),
    loggingConfigurationIdentifiers: roomLoggingConfigurations.optional(),
  }),
  async handle(ctx, input) {
    if (input.maximumMessageRatePerSecond !== undefined) checkMessageRate(ctx, input.maximumMessageRatePerSecond);
    const roomCount = await ctx.store.countRooms();
    if (roomCount >= ctx.config.limits.maxRooms) {
      throw apiErrors.quotaExceeded('', ctx.config.limits.maxRooms, `The limit of ${ctx.config.limits.maxRooms} rooms is reached`);
    }
    const loggingConfigurationIdentifiers = input.loggingConfigurationIdentifiers ?? [];
    await checkLoggingConfigurations(ctx, loggingConfigurationIdentifiers);
    const id = newId();
    const now = new Date().toISOString();
    const room: Room = {
      arn: ctx.arns.format('room', id),
      id,
      name: input.name ?? '',
      createTime: now,
      updateTime: now,
      maximumMessageRatePerSecond: input.maximumMessageRatePerSecond ?? ROOM_DEFAULTS.maximumMessageRatePerSecond,
      maximumMessageLength: input.maximumMessageLength ?? ROOM_DEFAULTS.maximumMessageLength,
      messageReviewHandler: {
        uri: input.messageReviewHandler?.uri ?? '',
        fallbackResult: input.messageReviewHandler?.fallbackResult ?? ROOM_DEFAULTS.fallbackResult,
      },
      tags: input.tags ?? {},
      loggingConfigurationIdentifiers,
    };
    await ctx.store.putRoom(room);
    return roomResponse(room);
  },
});
