import { z } from 'zod';
import { defineOperation } from './operation.ts';
import { readTags } from './tagged-resource.ts';

/** GET /tags/{resourceArn} */
export const listTagsForResource = defineOperation({
  name: 'ListTagsForResource',
  input: z.object({ resourceArn: z.string().min(1).max(128) }),
  resourceId: (input) => input.resourceArn,
  async handle(ctx, input) {
    return { tags: await readTags(ctx, input.resourceArn) };
  },
});
