import type { LiveRooms } from '../rooms/live-rooms.ts';
import { disconnect } from './disconnect-reasons.ts';

/** The pace while no send buffer holds much: one pass over every socket a second costs nothing noticeable. */
const CALM_INTERVAL_MS = 1000;
/**
 * The pace while some socket is behind (a sixteenth of the limit or more). Under overload a
 * buffer can go from empty to the limit within a second; sampled once a second, it would then sit
 * up to a second past the limit (growing towards uWS's cut at twice it) before the policy cut it,
 * and every frame queued behind it would wait that long. A pass costs about a microsecond per
 * socket, so this pace costs a few percent of a core with tens of thousands of sockets, and only
 * while some socket is behind.
 */
const HURRIED_INTERVAL_MS = 100;

/**
 * The slow-consumer policy, applied off the fan-out path. Every socket's send buffer is sampled,
 * once a second, or ten times a second while any socket is behind. A socket is cut as a slow
 * consumer (forcefully, as a broken connection, so the official SDK reconnects rather than
 * treating it as a moderator's disconnect) when either
 * - its buffer holds the limit (--max-backpressure-bytes) or more: the bound on memory, or
 * - it has been behind, a sixteenth of the limit or more, at every sample for slowConsumerMs
 *   (--slow-consumer-ms): the bound on lateness. A byte limit alone lets a backlog of seconds sit
 *   in the process after an overload (1 MiB is thousands of frames), and every frame to that
 *   viewer waits behind it; this cuts the viewers that cannot catch up within slowConsumerMs
 *   (plus up to one calm interval before the first sample sees them), while viewers that read
 *   never stay behind.
 * One holding half the limit is marked congested, and the total feeds the backpressure gauge.
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
    private readonly slowConsumerMs: number,
  ) {
    this.schedule(CALM_INTERVAL_MS);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => this.schedule(this.sample() ? HURRIED_INTERVAL_MS : CALM_INTERVAL_MS), ms);
    this.timer.unref();
  }

  /** One pass; true when some socket is behind. */
  sample(): boolean {
    const half = this.limit / 2;
    const behind = this.limit / 16;
    const now = performance.now();
    let total = 0;
    let congested = 0;
    let anyBehind = false;
    const slow = [];
    for (const ws of this.rooms.allSockets()) {
      const buffered = ws.getBufferedAmount();
      total += buffered;
      const connection = ws.getUserData();
      connection.congested = buffered >= half;
      if (connection.congested) congested++;
      if (buffered >= behind) {
        anyBehind = true;
        if (connection.behindSince === 0) connection.behindSince = now;
        if (buffered >= this.limit || now - connection.behindSince >= this.slowConsumerMs) slow.push(ws);
      } else {
        connection.behindSince = 0;
      }
    }
    this.bufferedBytes = total;
    this.congested = congested;
    for (const ws of slow) disconnect(ws, 'slow_consumer');
    return anyBehind;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
