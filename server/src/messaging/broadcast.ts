import type { LogDestination } from '../chat-logging/destinations.ts';
import type { Context } from '../context.ts';
import type { FrameType } from '../metrics.ts';

/**
 * Sends a frame to everyone in the room and records it at the room's logging destinations.
 * Logged once, by the node where it originates, however many nodes deliver it.
 */
export async function broadcast(
  ctx: Context,
  roomId: string,
  logDestinations: readonly LogDestination[],
  type: FrameType,
  frame: string,
): Promise<void> {
  await ctx.fanout.publish(roomId, frame, type);
  ctx.chatLog.append(logDestinations, roomId, type, frame);
}
