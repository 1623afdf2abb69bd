import type { LiveRooms } from '../rooms/live-rooms.ts';
import { disconnect } from './disconnect-reasons.ts';

const SAMPLE_INTERVAL_MS = 1000;

/**
 * The slow-consumer policy, applied off the fan-out path. Once a second every socket's send buffer
 * is sampled: one holding the limit or more is cut (forcefully, as a broken connection, so the
 * official SDK reconnects rather than treating it as a moderator's disconnect), one holding half
 * of it is marked congested, and the total feeds the backpressure gauge.
 *
 * Between samples uWS itself cuts a socket at twice the limit (its maxBackpressure), which bounds
 * memory per socket whatever the burst. uWS reports that cut only as code 1006, so the congested
 * mark is what tells it apart from a client that vanished.
 */
export class BackpressureMonitor {
  bufferedBytes = 0;
  /** Sockets holding half the limit or more at the last sample: the receivers about to be cut. */
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
    const half = this.limit / 2;
    let total = 0;
    let congested = 0;
    const slow = [];
    for (const ws of this.rooms.allSockets()) {
      const buffered = ws.getBufferedAmount();
      total += buffered;
      const connection = ws.getUserData();
      connection.congested = buffered >= half;
      if (connection.congested) congested++;
      if (buffered >= this.limit) slow.push(ws);
    }
    this.bufferedBytes = total;
    this.congested = congested;
    for (const ws of slow) disconnect(ws, 'slow_consumer');
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
