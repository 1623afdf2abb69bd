import { z } from 'zod';
import { apiErrors } from '../errors.ts';
import { newId } from '../ids.ts';
import type { LoggingConfiguration } from '../rooms/room.ts';
import { destinationConfiguration } from './logging-configuration-schemas.ts';
import { defineOperation } from './operation.ts';
import { loggingConfigurationResponse } from './resources.ts';
import { resourceName, tags } from './schemas.ts';

/** Created ACTIVE at once: the local destination (a directory) needs no provisioning. */
export const createLoggingConfiguration = defineOperation({
  name: 'CreateLoggingConfiguration',
  input: z.object({ name: resourceName.optional(), destinationConfiguration, tags: tags.optional() }),
  async handle(ctx, input) {
    const limit = ctx.config.limits.maxLoggingConfigurations;
    if ((await ctx.store.listLoggingConfigurations()).length >= limit) {
      throw apiErrors.quotaExceeded('', limit, `The limit of ${limit} logging configurations is reached`);
    }
    const id = newId();
    const now = new Date().toISOString();
    const configuration: LoggingConfiguration = {
      arn: ctx.arns.format('logging-configuration', id),
      id,
      name: input.name ?? '',
      createTime: now,
      updateTime: now,
      destinationConfiguration: input.destinationConfiguration,
      state: 'ACTIVE',
      tags: input.tags ?? {},
    };
    await ctx.store.putLoggingConfiguration(configuration);
    return loggingConfigurationResponse(configuration);
  },
});
