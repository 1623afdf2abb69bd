import { z } from 'zod';
import { disconnectUser as moderateDisconnectUser } from '../moderation/disconnect-user.ts';
import { defineOperation } from './operation.ts';
import { findRoom } from './resources.ts';
import { arnIdentifier, reason, userId } from './schemas.ts';

/** Broadcasts aws:DISCONNECT_USER, then closes every connection of the user in the room, on every node. */
export const disconnectUser = defineOperation({
  name: 'DisconnectUser',
  input: z.object({ roomIdentifier: arnIdentifier, userId, reason: reason.optional() }),
  resourceId: (input) => input.roomIdentifier,
  async handle(ctx, input) {
    const room = await findRoom(ctx, input.roomIdentifier);
    await moderateDisconnectUser(ctx, room.id, await ctx.rooms.logDestinationsOf(room), input.userId, input.reason, '');
    return {};
  },
});
