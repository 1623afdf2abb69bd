import { z } from 'zod';
import { defineOperation } from './operation.ts';
import { loggingConfigurationResponse, paginate } from './resources.ts';
import { maxResults, nextToken } from './schemas.ts';

export const listLoggingConfigurations = defineOperation({
  name: 'ListLoggingConfigurations',
  input: z.object({ nextToken: nextToken.optional(), maxResults: maxResults.optional() }),
  async handle(ctx, input) {
    const { page, nextToken } = paginate(await ctx.store.listLoggingConfigurations(), input.nextToken, input.maxResults ?? 50);
    const loggingConfigurations = page.map(loggingConfigurationResponse);
    return nextToken ? { loggingConfigurations, nextToken } : { loggingConfigurations };
  },
});
