import type { FrameType } from '../metrics.ts';
import type { Bus } from './bus.ts';
import type { LocalHub } from './local-hub.ts';

/** The bus with one node: every call is applied to this node's connections at once. */
export class EmbeddedBus implements Bus {
  constructor(private readonly hub: LocalHub) {}

  publish(roomId: string, frame: string, type: FrameType): undefined {
    this.hub.deliver(roomId, frame, type);
    return undefined;
  }

  async disconnectUser(roomId: string, userId: string): Promise<void> {
    this.hub.disconnectUser(roomId, userId);
  }

  async closeRoom(roomId: string): Promise<void> {
    this.hub.closeRoom(roomId);
  }

  async roomChanged(roomId: string): Promise<void> {
    await this.hub.roomChanged(roomId);
  }

  subscribe(): undefined {
    return undefined;
  }

  unsubscribe(): void {}

  async close(): Promise<void> {}
}
