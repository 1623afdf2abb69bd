import type { Clock } from './ports.ts';

// How far behind its own event loop a generator runs. A timer records how late it fires (timer
// drift: everything queued ahead of it ran first), and the receive path counts the frames it
// handled after the timer was due (the backlog the timer waited behind). A generator whose loop
// lags measures its own queue, not the server: latency figures include the lag, and a receiver
// that falls far enough behind sees arrivals in bursts.

const MIN_OVER = 3;

export interface OneShotTimer {
  after(ms: number, fn: () => void): unknown;
  cancel(handle: unknown): void;
}

export interface LagSink {
  lag(ms: number): void;
  backlog(frames: number): void;
}

export interface LagProbeOptions {
  clock: Clock;
  timer: OneShotTimer;
  sink: LagSink;
  periodMs: number;
  /** A lag above this makes the run generator-bound when it is the p99 (more than 1 % of samples). */
  boundMs: number;
  /** Samples count only inside [fromMs, toMs) (epoch ms): the load phase, not the setup before it. */
  fromMs: number;
  toMs: number;
}

export class LagProbe {
  private due = Number.POSITIVE_INFINITY;
  private late = 0;
  private handle: unknown;
  private stopped = false;
  samples = 0;
  overBound = 0;
  maxMs = 0;

  constructor(private readonly o: LagProbeOptions) {}

  start(): void {
    this.arm(this.o.clock.now());
  }

  stop(): void {
    this.stopped = true;
    this.o.timer.cancel(this.handle);
  }

  /** Hot path: once per received frame. */
  frame(): void {
    if (this.o.clock.now() >= this.due) this.late++;
  }

  /**
   * Lag p99 above the bound: more than 1 % of the probes fired later than it, and at least
   * MIN_OVER of them, so that one stall (a GC pause, a neighbour's burst on a shared machine) in a
   * short run, where the p99 is the maximum, does not decide the verdict; sustained lag does.
   */
  get bound(): boolean {
    return this.overBound >= MIN_OVER && this.overBound > this.samples * 0.01;
  }

  private arm(now: number): void {
    this.due = now + this.o.periodMs;
    this.handle = this.o.timer.after(this.o.periodMs, () => this.fire());
  }

  private fire(): void {
    if (this.stopped) return;
    const now = this.o.clock.now();
    const lag = Math.max(0, now - this.due);
    if (now >= this.o.fromMs && now < this.o.toMs) {
      this.o.sink.backlog(this.late);
      // A probe late by L stands for the probes that would have fired every period meanwhile,
      // late by L − period, L − 2·period, …: without them a loop that stalls for seconds would
      // leave a handful of samples and look better than one that lags a little all the time
      // (coordinated omission, as HdrHistogram's recordValueWithExpectedInterval corrects it).
      for (let l = lag; l === lag || l > 0; l -= this.o.periodMs) {
        this.o.sink.lag(l);
        this.samples++;
        if (l > this.o.boundMs) this.overBound++;
      }
      if (lag > this.maxMs) this.maxMs = lag;
    }
    this.late = 0;
    this.arm(now);
  }
}
