import type { Context } from '../context.ts';
import { ChatError } from '../errors.ts';
import { Capability } from '../tokens/capabilities.ts';
import { broadcast } from './broadcast.ts';
import type { ChatSocket } from './connection.ts';
import type { ChatRequest } from './decode-request.ts';
import { disconnectUserEvent } from './moderation-events.ts';

type DisconnectUserRequest = Extract<ChatRequest, { action: 'DISCONNECT_USER' }>;

/**
 * DISCONNECT_USER: broadcasts aws:DISCONNECT_USER, then closes every connection of that user in the
 * room with 1000. The moderator's own connection survives unless it is the user named.
 */
export async function disconnectUser(
  ctx: Context,
  ws: ChatSocket,
  request: DisconnectUserRequest,
): Promise<ChatError | undefined> {
  const connection = ws.getUserData();
  if ((connection.capabilities & Capability.DISCONNECT_USER) === 0) {
    return new ChatError(403, 'The token does not grant the DISCONNECT_USER capability');
  }
  const room = connection.room;
  const { frame } = disconnectUserEvent(request.userId, request.reason, request.requestId);
  await broadcast(ctx, room.id, room.settings.logDestinations, 'EVENT', frame);
  await ctx.fanout.disconnectUser(room.id, request.userId);
  return undefined;
}
