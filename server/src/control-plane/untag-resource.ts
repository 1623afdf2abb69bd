import { z } from 'zod';
import { defineOperation } from './operation.ts';
import { changeTags } from './tagged-resource.ts';

/** DELETE /tags/{resourceArn}?tagKeys=a&tagKeys=b */
export const untagResource = defineOperation({
  name: 'UntagResource',
  input: z.object({
    resourceArn: z.string().min(1).max(128),
    tagKeys: z.array(z.string().min(1).max(128)).min(1, 'at least one tagKeys value is required').max(50),
  }),
  resourceId: (input) => input.resourceArn,
  async handle(ctx, input) {
    await changeTags(ctx, input.resourceArn, (current) => {
      const remaining = { ...current };
      for (const key of input.tagKeys) delete remaining[key];
      return remaining;
    });
    return {};
  },
});
