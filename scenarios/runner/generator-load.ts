import os from 'node:os';

// The generator watches itself: when its own CPU is saturated or its event loops lag, latency and
// throughput figures describe the generator, not the server, and the report must say so.

/** A generator this busy (share of its cores) is saturated: also the capacity sweep's per-window test. */
export const BUSY_RATIO = 0.85;
const LAGGING_MS = 100;

export class GeneratorLoad {
  readonly cores = os.availableParallelism();
  private last = process.cpuUsage();
  private lastAt = performance.now();
  private readonly started = process.cpuUsage();
  private readonly startedAt = performance.now();
  private samples = 0;
  private busySamples = 0;
  private laggingSamples = 0;
  private peakRss = 0;

  /** CPU seconds per second since the last sample (1 = one core busy). */
  sample(worstEventLoopP99Ms: number, counted: boolean): number {
    const now = performance.now();
    const usage = process.cpuUsage(this.last);
    this.last = process.cpuUsage();
    const ratio = (usage.user + usage.system) / 1000 / Math.max(1, now - this.lastAt);
    this.lastAt = now;
    this.peakRss = Math.max(this.peakRss, process.memoryUsage.rss());
    if (counted) {
      this.samples++;
      if (ratio >= BUSY_RATIO * this.cores) this.busySamples++;
      if (worstEventLoopP99Ms >= LAGGING_MS) this.laggingSamples++;
    }
    return ratio;
  }

  /** Average CPU over the whole run, in percent of one core. */
  cpuPercent(): number {
    const usage = process.cpuUsage(this.started);
    return ((usage.user + usage.system) / 1000 / Math.max(1, performance.now() - this.startedAt)) * 100;
  }

  rssMB(): number {
    return Math.max(this.peakRss, process.memoryUsage.rss()) / 1024 / 1024;
  }

  warnings(eventLoopRunP99Ms: number): string[] {
    const out: string[] = [];
    if (this.samples === 0) return out;
    const busy = this.busySamples / this.samples;
    const lagging = this.laggingSamples / this.samples;
    if (busy >= 0.2) {
      out.push(
        `the generator used ≥${Math.round(BUSY_RATIO * 100)} % of its ${this.cores} core(s) for ${Math.round(busy * 100)} % of the run: ` +
          'latency and delivery rates may be limited by the load generator, not the server (fewer viewers, more cores with --workers, or k6 on more machines)',
      );
    }
    if (lagging >= 0.2 || eventLoopRunP99Ms >= LAGGING_MS) {
      out.push(
        `generator event loops lagged (p99 ${eventLoopRunP99Ms.toFixed(1)} ms over the run): latencies include time the generator took to read frames`,
      );
    }
    return out;
  }
}
