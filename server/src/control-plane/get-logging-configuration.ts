import { z } from 'zod';
import { defineOperation } from './operation.ts';
import { findLoggingConfiguration, loggingConfigurationResponse } from './resources.ts';
import { arnIdentifier } from './schemas.ts';

export const getLoggingConfiguration = defineOperation({
  name: 'GetLoggingConfiguration',
  input: z.object({ identifier: arnIdentifier }),
  resourceId: (input) => input.identifier,
  async handle(ctx, input) {
    return loggingConfigurationResponse(await findLoggingConfiguration(ctx, input.identifier));
  },
});
