import type { Context } from '../context.ts';
import { parseArn } from '../arn.ts';
import { apiErrors } from '../errors.ts';

/** Rooms and logging configurations carry tags; this finds either by ARN and saves it back. */
export async function findTaggedResource(ctx: Context, resourceArn: string) {
  const parsed = parseArn(resourceArn);
  if (!parsed) {
    throw apiErrors.fieldValidation([{ name: 'resourceArn', message: 'must be the ARN of a room or a logging configuration' }]);
  }
  if (parsed.kind === 'room') {
    const id = ctx.arns.idOf(resourceArn, 'room');
    const room = id === undefined ? undefined : await ctx.store.getRoom(id);
    if (!room) throw apiErrors.notFound(resourceArn, 'Resource');
    return { tags: room.tags, save: (tags: Record<string, string>) => ctx.store.putRoom({ ...room, tags }) };
  }
  const id = ctx.arns.idOf(resourceArn, 'logging-configuration');
  const configuration = id === undefined ? undefined : await ctx.store.getLoggingConfiguration(id);
  if (!configuration) throw apiErrors.notFound(resourceArn, 'Resource');
  return { tags: configuration.tags, save: (tags: Record<string, string>) => ctx.store.putLoggingConfiguration({ ...configuration, tags }) };
}
