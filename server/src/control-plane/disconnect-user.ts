import { z } from 'zod';
import { broadcast } from '../messaging/broadcast.ts';
import { disconnectUserEvent } from '../messaging/moderation-events.ts';
import { defineOperation } from './operation.ts';
import { findRoom } from './resources.ts';
import { logDestinationsOf } from './room-log-destinations.ts';
import { arnIdentifier, reason, userId } from './schemas.ts';

/** Broadcasts aws:DISCONNECT_USER, then closes every connection of the user in the room, on every node. */
export const disconnectUser = defineOperation({
  name: 'DisconnectUser',
  input: z.object({ roomIdentifier: arnIdentifier, userId, reason: reason.optional() }),
  resourceId: (input) => input.roomIdentifier,
  async handle(ctx, input) {
    const room = await findRoom(ctx, input.roomIdentifier);
    const event = disconnectUserEvent(input.userId, input.reason, '');
    await broadcast(ctx, room.id, await logDestinationsOf(ctx, room), 'EVENT', event.frame);
    await ctx.fanout.disconnectUser(room.id, input.userId);
    return {};
  },
});
