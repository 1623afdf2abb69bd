import { z } from 'zod';
import { defineOperation } from './operation.ts';
import { findTaggedResource } from './tagged-resource.ts';

/** DELETE /tags/{resourceArn}?tagKeys=a&tagKeys=b */
export const untagResource = defineOperation({
  name: 'UntagResource',
  input: z.object({
    resourceArn: z.string().min(1).max(128),
    tagKeys: z.array(z.string().min(1).max(128)).min(1, 'at least one tagKeys value is required').max(50),
  }),
  resourceId: (input) => input.resourceArn,
  async handle(ctx, input) {
    const resource = await findTaggedResource(ctx, input.resourceArn);
    const remaining = { ...resource.tags };
    for (const key of input.tagKeys) delete remaining[key];
    await resource.save(remaining);
    return {};
  },
});
