import type { LogDestination } from '../chat-logging/destinations.ts';
import type { Context } from '../context.ts';
import { broadcast } from '../messaging/broadcast.ts';
import { disconnectUserEvent } from './moderation-events.ts';

/**
 * DisconnectUser, for the HTTP operation and the WebSocket action alike: logs and broadcasts
 * aws:DISCONNECT_USER, then closes every connection of the user in the room with 1000, on every
 * node, after the event (the bus keeps the order). A moderator's own connection survives unless
 * it is the user named. `requestId` is '' from the HTTP API.
 */
export async function disconnectUser(
  ctx: Context,
  roomId: string,
  logDestinations: readonly LogDestination[],
  userId: string,
  reason: string | undefined,
  requestId: string | undefined,
): Promise<void> {
  const { frame } = disconnectUserEvent(userId, reason, requestId);
  await broadcast(ctx, roomId, logDestinations, 'EVENT', frame);
  await ctx.bus.disconnectUser(roomId, userId);
}
