import type { Context } from '../context.ts';
import type { ChatError } from '../errors.ts';
import { disconnectUser as moderateDisconnectUser } from '../moderation/disconnect-user.ts';
import type { ChatSocket } from './connection.ts';
import type { ChatRequest } from './decode-request.ts';

type DisconnectUserRequest = Extract<ChatRequest, { action: 'DISCONNECT_USER' }>;

/** DISCONNECT_USER: the moderation shared with the HTTP API, in the sender's room. */
export async function disconnectUser(ctx: Context, ws: ChatSocket, request: DisconnectUserRequest): Promise<ChatError | undefined> {
  const room = ws.getUserData().room;
  await moderateDisconnectUser(ctx, room.id, room.settings.logDestinations, request.userId, request.reason, request.requestId);
  return undefined;
}
