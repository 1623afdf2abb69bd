import type { LogDestination } from '../chat-logging/destinations.ts';
import type { Context } from '../context.ts';
import type { FrameType } from '../metrics.ts';

/**
 * Records a frame at the room's logging destinations, then sends it to everyone in the room.
 * Logged once, by the node where it originates, however many nodes deliver it. Logged first so
 * that a frame that cannot be logged is not delivered: the request fails with a 500 instead.
 * Undefined when the frame is delivered already.
 */
export function broadcast(
  ctx: Context,
  roomId: string,
  logDestinations: readonly LogDestination[],
  type: FrameType,
  frame: string,
): Promise<void> | undefined {
  const logged = ctx.chatLog.append(logDestinations, roomId, type, frame);
  // Undefined when delivered already: a room without logging on one node takes no promise.
  if (logged) return logged.then(() => ctx.bus.publish(roomId, frame, type));
  return ctx.bus.publish(roomId, frame, type);
}
