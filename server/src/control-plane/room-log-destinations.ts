import type { LogDestination } from '../chat-logging/destinations.ts';
import type { Context } from '../context.ts';
import type { Room } from '../rooms/room.ts';

/** Where a room's events are logged: the live room's resolved settings when it has connections here, else resolved now. */
export async function logDestinationsOf(ctx: Context, room: Room): Promise<LogDestination[]> {
  if (room.loggingConfigurationIdentifiers.length === 0) return [];
  const live = await ctx.rooms.acquire(room.id);
  return live?.settings.logDestinations ?? [];
}
