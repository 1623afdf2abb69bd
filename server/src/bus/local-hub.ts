import type { TemplatedApp } from 'uWebSockets.js';
import type { Tally } from '../metric-tally.ts';
import type { FrameType, Metrics } from '../metrics.ts';
import type { LiveRooms } from '../rooms/live-rooms.ts';

/**
 * Applies what the bus carries to this node's connections. A room is a uWS topic named by the
 * room id, and one app.publish hands the same bytes to every subscriber in native code: no
 * JavaScript runs per recipient. Deliveries are counted from the topic's subscriber count, one
 * native call per publish.
 */
export class LocalHub {
  // Plain-number tallies bound once (metric-tally.ts): prom-client's inc() per publish would hash the label values each time.
  private readonly counters: Record<FrameType, { publishes: Tally; deliveries: Tally; bytes: Tally }>;

  constructor(
    private readonly app: TemplatedApp,
    private readonly rooms: LiveRooms,
    private readonly metrics: Metrics,
  ) {
    const bind = (type: FrameType) => ({
      publishes: metrics.hot.publishes[type],
      deliveries: metrics.hot.deliveries[type],
      bytes: metrics.hot.deliveredBytes[type],
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
    counters.publishes.value++;
    const series = this.rooms.get(roomId)?.series;
    series?.publishes[type].inc();
    if (recipients > 0) {
      series?.deliveries[type].inc(recipients);
      counters.deliveries.value += recipients;
      counters.bytes.value += recipients * (typeof frame === 'string' ? Buffer.byteLength(frame) : frame.byteLength);
      this.metrics.hot.publishDuration.observe(seconds);
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
