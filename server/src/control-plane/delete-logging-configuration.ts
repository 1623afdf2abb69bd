import { z } from 'zod';
import { apiErrors } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { findLoggingConfiguration } from './resources.ts';
import { arnIdentifier } from './schemas.ts';

/**
 * A configuration still named by a room is refused with ConflictException (detach it with
 * UpdateRoom first): chatstorm's choice, so that no room silently stops logging.
 */
export const deleteLoggingConfiguration = defineOperation({
  name: 'DeleteLoggingConfiguration',
  status: 204,
  input: z.object({ identifier: arnIdentifier }),
  resourceId: (input) => input.identifier,
  async handle(ctx, input) {
    const configuration = await findLoggingConfiguration(ctx, input.identifier);
    const user = (await ctx.store.listRooms()).find((room) => room.loggingConfigurationIdentifiers.includes(configuration.arn));
    if (user) {
      throw apiErrors.conflict(configuration.id, `Logging configuration ${configuration.arn} is used by room ${user.arn}`);
    }
    await ctx.store.deleteLoggingConfiguration(configuration.id);
    return undefined;
  },
});
