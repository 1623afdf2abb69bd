import { z } from 'zod';
import { apiErrors } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { findRoom } from './resources.ts';
import { arnIdentifier } from './schemas.ts';

/** Deleting a room with viewers succeeds (there is no ConflictException here); their connections end with 1000. */
export const deleteRoom = defineOperation({
  name: 'DeleteRoom',
  status: 204,
  input: z.object({ identifier: arnIdentifier }),
  resourceId: (input) => input.identifier,
  async handle(ctx, input) {
    const room = await findRoom(ctx, input.identifier);
    if (!(await ctx.store.deleteRoom(room.id))) throw apiErrors.notFound(input.identifier, 'Room');
    await ctx.bus.closeRoom(room.id);
    return undefined;
  },
});
