import { z } from 'zod';
import { newId } from '../ids.ts';
import { broadcast } from '../messaging/broadcast.ts';
import { eventFrame } from '../messaging/frames.ts';
import { defineOperation } from './operation.ts';
import { findRoom } from './resources.ts';
import { arnIdentifier, attributes } from './schemas.ts';

/** Sends an EVENT to everyone in the room; events from the HTTP API carry RequestId "". */
export const sendEvent = defineOperation({
  name: 'SendEvent',
  input: z.object({
    roomIdentifier: arnIdentifier,
    eventName: z.string().min(1, 'must be 1 to 100 characters').max(100, 'must be 1 to 100 characters'),
    attributes: attributes.optional(),
  }),
  resourceId: (input) => input.roomIdentifier,
  async handle(ctx, input) {
    const room = await findRoom(ctx, input.roomIdentifier);
    const id = newId();
    const frame = eventFrame({
      id,
      requestId: '',
      eventName: input.eventName,
      attributes: input.attributes && Object.keys(input.attributes).length > 0 ? input.attributes : undefined,
      sendTime: new Date().toISOString(),
    });
    await broadcast(ctx, room.id, await ctx.rooms.logDestinationsOf(room), 'EVENT', frame);
    return { id };
  },
});
