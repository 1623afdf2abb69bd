import { z } from 'zod';
import { defineOperation } from './operation.ts';
import { findRoom, roomResponse } from './resources.ts';
import { arnIdentifier } from './schemas.ts';

export const getRoom = defineOperation({
  name: 'GetRoom',
  input: z.object({ identifier: arnIdentifier }),
  resourceId: (input) => input.identifier,
  async handle(ctx, input) {
    return roomResponse(await findRoom(ctx, input.identifier));
  },
});
