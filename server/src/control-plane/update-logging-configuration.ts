import { z } from 'zod';
import { apiErrors } from '../errors.ts';
import { destinationConfiguration } from './logging-configuration-schemas.ts';
import { defineOperation } from './operation.ts';
import { findLoggingConfiguration, loggingConfigurationResponse } from './resources.ts';
import { arnIdentifier, resourceName } from './schemas.ts';

/** A new destination takes effect at once for every room that uses the configuration. */
export const updateLoggingConfiguration = defineOperation({
  name: 'UpdateLoggingConfiguration',
  input: z.object({
    identifier: arnIdentifier,
    name: resourceName.optional(),
    destinationConfiguration: destinationConfiguration.optional(),
  }),
  resourceId: (input) => input.identifier,
  async handle(ctx, input) {
    const found = await findLoggingConfiguration(ctx, input.identifier);
    // One read-modify-write: a concurrent TagResource (here or on another node) keeps its tags.
    const configuration = await ctx.store.updateLoggingConfiguration(found.id, (configuration) => {
      if (input.name !== undefined) configuration.name = input.name;
      if (input.destinationConfiguration) configuration.destinationConfiguration = input.destinationConfiguration;
      configuration.updateTime = new Date().toISOString();
      return configuration;
    });
    if (!configuration) throw apiErrors.notFound(found.arn, 'Logging configuration');
    if (input.destinationConfiguration) {
      for (const room of await ctx.store.listRooms()) {
        if (room.loggingConfigurationIdentifiers.includes(configuration.arn)) await ctx.bus.roomChanged(room.id);
      }
    }
    return loggingConfigurationResponse(configuration);
  },
});
