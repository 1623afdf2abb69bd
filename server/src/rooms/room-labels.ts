import type { Counter, Gauge } from 'prom-client';
import type { FrameType, Metrics } from '../metrics.ts';

/** The per-room metric children of one room, bound once so the message path does no label lookup. */
export interface RoomSeries {
  connections: Gauge.Internal<"room">;
  publishes: Record<FrameType, Counter.Internal>;
  deliveries: Record<FrameType, Counter.Internal>;
}

const OTHER = '_other';

/**
 * Hands out per-room metric series under --metrics-room-labels N: the first N rooms to get a
 * connection are labelled by room id (server-generated, never a user-chosen name), every later
 * one shares room="_other". A room's slot and series are freed when the node forgets the room, so
 * the label set stays bounded by N + 1 however many rooms come and go.
 */
export class RoomLabels {
  private readonly labelled = new Set<string>();

  constructor(
    private readonly metrics: Metrics,
    private readonly cap: number,
  ) {}

  seriesFor(roomId: string): RoomSeries | undefined {
    if (this.cap === 0) return undefined;
    let label = OTHER;
    if (this.labelled.has(roomId) || this.labelled.size < this.cap) {
      this.labelled.add(roomId);
      label = roomId;
    }
    const m = this.metrics;
    return {
      connections: m.roomConnections.labels(label),
      publishes: { MESSAGE: m.roomPublishes.labels(label, 'MESSAGE'), EVENT: m.roomPublishes.labels(label, 'EVENT') },
      deliveries: { MESSAGE: m.roomDeliveries.labels(label, 'MESSAGE'), EVENT: m.roomDeliveries.labels(label, 'EVENT') },
    };
  }

  release(roomId: string): void {
    if (!this.labelled.delete(roomId)) return;
    this.metrics.roomConnections.remove(roomId);
    for (const type of ['MESSAGE', 'EVENT'] as const) {
      this.metrics.roomPublishes.remove(roomId, type);
      this.metrics.roomDeliveries.remove(roomId, type);
    }
  }
}
