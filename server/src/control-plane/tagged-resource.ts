import type { Context } from '../context.ts';
import { parseArn } from '../arn.ts';
import { apiErrors } from '../errors.ts';

type Tags = Record<string, string>;

/** Rooms and logging configurations carry tags: which one an ARN names, and its id. */
function resolve(ctx: Context, resourceArn: string): { kind: 'room' | 'logging-configuration'; id: string | undefined } {
  const parsed = parseArn(resourceArn);
  if (!parsed) {
    throw apiErrors.fieldValidation([{ name: 'resourceArn', message: 'must be the ARN of a room or a logging configuration' }]);
  }
  const kind = parsed.kind === 'room' ? 'room' : 'logging-configuration';
  return { kind, id: ctx.arns.idOf(resourceArn, kind) };
}

export async function readTags(ctx: Context, resourceArn: string): Promise<Tags> {
  const { kind, id } = resolve(ctx, resourceArn);
  const resource = id === undefined ? undefined : kind === 'room' ? await ctx.store.getRoom(id) : await ctx.store.getLoggingConfiguration(id);
  if (!resource) throw apiErrors.notFound(resourceArn, 'Resource');
  return resource.tags;
}

/**
 * Changes the tags of a room or logging configuration as one read-modify-write of the store, so
 * that concurrent TagResource calls, on this node or others, all keep their tags. `change` gets
 * the current tags and returns the new ones; what it throws is the answer.
 */
export async function changeTags(ctx: Context, resourceArn: string, change: (tags: Tags) => Tags): Promise<void> {
  const { kind, id } = resolve(ctx, resourceArn);
  const changed =
    id === undefined
      ? undefined
      : kind === 'room'
        ? await ctx.store.updateRoom(id, (room) => ({ ...room, tags: change(room.tags) }))
        : await ctx.store.updateLoggingConfiguration(id, (configuration) => ({ ...configuration, tags: change(configuration.tags) }));
  if (!changed) throw apiErrors.notFound(resourceArn, 'Resource');
}
