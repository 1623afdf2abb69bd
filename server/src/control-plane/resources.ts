import type { Context } from '../context.ts';
import { apiErrors } from '../errors.ts';
import type { LoggingConfiguration, Room } from '../rooms/room.ts';

/** The room an identifier (ARN) names, or ResourceNotFoundException. */
export async function findRoom(ctx: Context, identifier: string): Promise<Room> {
  const id = ctx.arns.idOf(identifier, 'room');
  const room = id === undefined ? undefined : await ctx.store.getRoom(id);
  if (!room) throw apiErrors.notFound(identifier, 'Room');
  return room;
}

export async function findLoggingConfiguration(ctx: Context, identifier: string): Promise<LoggingConfiguration> {
  const id = ctx.arns.idOf(identifier, 'logging-configuration');
  const configuration = id === undefined ? undefined : await ctx.store.getLoggingConfiguration(id);
  if (!configuration) throw apiErrors.notFound(identifier, 'Logging configuration');
  return configuration;
}

/** Every logging configuration a room names must exist, and a room may name at most three. */
export async function checkLoggingConfigurations(ctx: Context, identifiers: readonly string[]): Promise<void> {
  for (const identifier of identifiers) await findLoggingConfiguration(ctx, identifier);
}

export function roomResponse(room: Room) {
  return {
    arn: room.arn,
    id: room.id,
    name: room.name,
    createTime: room.createTime,
    updateTime: room.updateTime,
    maximumMessageRatePerSecond: room.maximumMessageRatePerSecond,
    maximumMessageLength: room.maximumMessageLength,
    messageReviewHandler: room.messageReviewHandler,
    tags: room.tags,
    loggingConfigurationIdentifiers: room.loggingConfigurationIdentifiers,
  };
}

export function roomSummary(room: Room) {
  return {
    arn: room.arn,
    id: room.id,
    name: room.name,
    messageReviewHandler: room.messageReviewHandler,
    createTime: room.createTime,
    updateTime: room.updateTime,
    tags: room.tags,
    loggingConfigurationIdentifiers: room.loggingConfigurationIdentifiers,
  };
}

export function loggingConfigurationResponse(configuration: LoggingConfiguration) {
  return {
    arn: configuration.arn,
    id: configuration.id,
    createTime: configuration.createTime,
    updateTime: configuration.updateTime,
    name: configuration.name,
    destinationConfiguration: configuration.destinationConfiguration,
    state: configuration.state,
    tags: configuration.tags,
  };
}

/** Rooms sort by updateTime, newest first, then by id so that pages are stable. */
export function newestFirst(a: { updateTime: string; id: string }, b: { updateTime: string; id: string }): number {
  if (a.updateTime !== b.updateTime) return a.updateTime < b.updateTime ? 1 : -1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/**
 * nextToken is opaque to clients: base64url of the sort key of the last item returned, so that
 * a page stays correct when rooms are created or deleted between calls.
 */
export function encodePageToken(item: { updateTime: string; id: string }): string {
  return Buffer.from(JSON.stringify([item.updateTime, item.id])).toString('base64url');
}

export function decodePageToken(token: string): { updateTime: string; id: string } {
  try {
    const [updateTime, id] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as unknown[];
    if (typeof updateTime === 'string' && typeof id === 'string') return { updateTime, id };
  } catch {
    // fall through
  }
  throw apiErrors.fieldValidation([{ name: 'nextToken', message: 'is not a token this service returned' }]);
}

export function paginate<T extends { updateTime: string; id: string }>(
  items: T[],
  nextToken: string | undefined,
  maxResults: number,
): { page: T[]; nextToken: string | undefined } {
  items.sort(newestFirst);
  let start = 0;
  if (nextToken) {
    const after = decodePageToken(nextToken);
    start = items.findIndex((item) => newestFirst(item, after) > 0);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + maxResults);
  const last = page.at(-1);
  return { page, nextToken: start + maxResults < items.length && last ? encodePageToken(last) : undefined };
}
