import type { LiveRooms } from '../rooms/live-rooms.ts';

const SAMPLE_INTERVAL_MS = 1000;

/**
 * Samples every socket's send buffer once a second, off the fan-out path: the total feeds the
 * backpressure gauge, and a socket holding over a quarter of the limit is marked congested so that
 * its close, if uWS drops it at the limit, is counted as a slow consumer. uWS reports that drop
 * only as an abnormal close (1006), so the mark is what tells it apart from a vanished client.
 */
export class BackpressureMonitor {
  bufferedBytes = 0;
  /** Sockets over a quarter of the limit at the last sample: the receivers about to be cut. */
  congested = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly rooms: LiveRooms,
    private readonly limit: number,
  ) {
    this.timer = setInterval(() => this.sample(), SAMPLE_INTERVAL_MS);
    this.timer.unref();
  }

  sample(): void {
    const threshold = this.limit / 4;
    let total = 0;
    let congested = 0;
    for (const ws of this.rooms.allSockets()) {
      const buffered = ws.getBufferedAmount();
      total += buffered;
      const filling = buffered >= threshold;
      ws.getUserData().congested = filling;
      if (filling) congested++;
    }
    this.bufferedBytes = total;
    this.congested = congested;
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
