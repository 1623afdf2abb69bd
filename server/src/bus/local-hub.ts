import type { TemplatedApp } from 'uWebSockets.js';
import type { Counter } from 'prom-client';
import type { FrameType, Metrics } from '../metrics.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';

/**
 * Applies what the bus carries to this node's connections. A room is a uWS topic named by the
 * room id, and one app.publish hands the same bytes to every subscriber in native code: no
 * JavaScript runs per recipient. Deliveries are counted from the topic's subscriber count, one
 * native call per publish.
 */
export class LocalHub {
  // Label children bound once: a labels() lookup per publish would hash the label values each time.
  private readonly counters: Record<FrameType, { publishes: Counter.Internal; deliveries: Counter.Internal; bytes: Counter.Internal }>;

  constructor(
    private readonly app: TemplatedApp,
    private readonly rooms: LiveRooms,
    private readonly metrics: Metrics,
  ) {
    const bind = (type: FrameType) => ({
      publishes: metrics.publishes.labels(type),
      deliveries: metrics.deliveries.labels(type),
      bytes: metrics.deliveredBytes.labels(type),
    });
    this.counters = { MESSAGE: bind('MESSAGE'), EVENT: bind('EVENT') };
  }

  /** `frame` is a string when it was made here, bytes when it came off the bus (never decoded). */
  deliver(roomId: string, frame: string | Uint8Array, type: FrameType): void {
    const started = performance.now();
    this.app.publish(roomId, frame);
    const seconds = (performance.now() - started) / 1000;
    const recipients = this.app.numSubscribers(roomId);
    const counters = this.counters[type];
    counters.publishes.inc();
    const series = this.rooms.get(roomId)?.series;
    series?.publishes[type].inc();
    if (recipients > 0) {
      series?.deliveries[type].inc(recipients);
      counters.deliveries.inc(recipients);
      counters.bytes.inc(recipients * (typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength));
      this.metrics.publishDuration.observe(seconds);
    }
  }

  disconnectUser(roomId: string, userId: string): void {
    this.rooms.closeUser(roomId, userId);
  }

  closeRoom(roomId: string): void {
    this.rooms.close(roomId);
  }

  roomChanged(roomId: string): Promise<void> {
    return this.rooms.reload(roomId);
  }
}
