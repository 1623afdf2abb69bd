import type { Context } from '../context.ts';
import type { ChatError } from '../errors.ts';
import { Capability } from '../tokens/capabilities.ts';
import type { ChatSocket } from './connection.ts';
import type { ChatRequest } from './decode-request.ts';
import { deleteMessage } from './delete-message.ts';
import { disconnectUser } from './disconnect-user.ts';
import { sendMessage } from './send-message.ts';

type Action = ChatRequest['action'];

export interface ActionEntry<A extends Action> {
  /** The token capability the action needs; without it the request gets ERROR 403 and the handler never runs. */
  capability: number;
  /** The error to answer with, or undefined for success; a promise of it when the action had to wait. */
  handle(ctx: Context, ws: ChatSocket, request: Extract<ChatRequest, { action: A }>, receivedAt: number): ChatError | undefined | Promise<ChatError | undefined>;
}

/** Every WebSocket action: the capability it needs and its module. A new action is one line here. */
export const ACTIONS: { readonly [A in Action]: ActionEntry<A> } = {
  SEND_MESSAGE: { capability: Capability.SEND_MESSAGE, handle: sendMessage },
  DELETE_MESSAGE: { capability: Capability.DELETE_MESSAGE, handle: deleteMessage },
  DISCONNECT_USER: { capability: Capability.DISCONNECT_USER, handle: disconnectUser },
};
