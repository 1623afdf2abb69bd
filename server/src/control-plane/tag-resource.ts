import { z } from 'zod';
import { apiErrors } from '../errors.ts';
import { defineOperation } from './operation.ts';
import { tags } from './schemas.ts';
import { changeTags } from './tagged-resource.ts';

/** POST /tags/{resourceArn} {tags}: adds or overwrites tags; a resource holds at most 50. */
export const tagResource = defineOperation({
  name: 'TagResource',
  input: z.object({ resourceArn: z.string().min(1).max(128), tags }),
  resourceId: (input) => input.resourceArn,
  async handle(ctx, input) {
    await changeTags(ctx, input.resourceArn, (current) => {
      const merged = { ...current, ...input.tags };
      if (Object.keys(merged).length > 50) {
        throw apiErrors.fieldValidation([{ name: 'tags', message: 'a resource may have at most 50 tags' }]);
      }
      return merged;
    });
    return {};
  },
});
