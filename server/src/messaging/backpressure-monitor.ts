import type { LiveRooms } from '../rooms/live-rooms.ts';
import { disconnect } from './disconnect-reasons.ts';

/** The pace while no send buffer holds much: one pass over every socket a second costs nothing noticeable. */
const CALM_INTERVAL_MS = 1000;
/**
 * The pace while some socket holds an eighth of the limit or more. Under overload a buffer can
 * go from empty to the limit within a second; sampled once a second, it would then sit up to a
 * second past the limit (growing towards uWS's cut at twice it) before the policy cut it, and
 * every frame queued behind it would wait that long. A pass costs about a microsecond per socket,
 * so this pace costs a few percent of a core with tens of thousands of sockets, and only while
 * congested.
 */
const HURRIED_INTERVAL_MS = 100;

/**
 * The slow-consumer policy, applied off the fan-out path. Every socket's send buffer is sampled,
 * once a second, or ten times a second while any socket holds an eighth of the limit: one holding
 * the limit or more is cut (forcefully, as a broken connection, so the official SDK reconnects
 * rather than treating it as a moderator's disconnect), one holding half of it is marked
 * congested, and the total feeds the backpressure gauge.
 *
 * Between samples uWS itself cuts a socket at twice the limit (its maxBackpressure), which bounds
 * memory per socket whatever the burst. uWS reports that cut only as code 1006, so the congested
 * mark is what tells it apart from a client that vanished.
 */
export class BackpressureMonitor {
  bufferedBytes = 0;
  /** Sockets holding half the limit or more at the last sample: the receivers about to be cut. */
  congested = 0;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly rooms: LiveRooms,
    private readonly limit: number,
  ) {
    this.schedule(CALM_INTERVAL_MS);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.schedule(this.sample() ? HURRIED_INTERVAL_MS : CALM_INTERVAL_MS), ms);
    this.timer.unref();
  }

  /** One pass; true when some socket is filling up (an eighth of the limit or more). */
  sample(): boolean {
    const half = this.limit / 2;
    const filling = this.limit / 8;
    let total = 0;
    let congested = 0;
    let largest = 0;
    const slow = [];
    for (const ws of this.rooms.allSockets()) {
      const buffered = ws.getBufferedAmount();
      total += buffered;
      if (buffered > largest) largest = buffered;
      const connection = ws.getUserData();
      connection.congested = buffered >= half;
      if (connection.congested) congested++;
      if (buffered >= this.limit) slow.push(ws);
    }
    this.bufferedBytes = total;
    this.congested = congested;
    for (const ws of slow) disconnect(ws, 'slow_consumer');
    return largest >= filling;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
