import { z } from 'zod';
import { apiErrors } from '../errors.ts';
import { ID_PATTERN } from '../ids.ts';
import { deleteMessage as moderateDeleteMessage } from '../moderation/delete-message.ts';
import { DELETE_MESSAGE_RATE } from '../moderation/moderation-events.ts';
import { defineOperation } from './operation.ts';
import { findRoom } from './resources.ts';
import { arnIdentifier, reason } from './schemas.ts';

/** Broadcasts aws:DELETE_MESSAGE; answers with the event's id. Any well-formed message id is accepted (no history is kept). */
export const deleteMessage = defineOperation({
  name: 'DeleteMessage',
  input: z.object({
    roomIdentifier: arnIdentifier,
    id: z.string().regex(ID_PATTERN, 'must be a message id: 12 characters [a-zA-Z0-9]'),
    reason: reason.optional(),
  }),
  resourceId: (input) => input.roomIdentifier,
  async handle(ctx, input) {
    const room = await findRoom(ctx, input.roomIdentifier);
    const outcome = await moderateDeleteMessage(ctx, room.id, await ctx.rooms.logDestinationsOf(room), input.id, input.reason, '');
    if (outcome === 'throttled') {
      throw apiErrors.throttled(room.id, DELETE_MESSAGE_RATE, `DeleteMessage rate of ${DELETE_MESSAGE_RATE} per second (all rooms) is exceeded`);
    }
    return { id: outcome.id };
  },
});
