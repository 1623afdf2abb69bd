import os from 'node:os';

// The generator watches itself: its CPU and its event loops' lag. Whether those made it the limit
// is judged with its receive backlog in generator-bound.ts; a busy CPU alone is only a warning
// when the backlog is known.

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

  /** CPU ≥ 85 % of the cores for ≥ 20 % of the counted samples; event loops ≥ 100 ms late. */
  signals(eventLoopRunP99Ms: number): { cpuBusy: boolean; lagging: boolean } {
    if (this.samples === 0) return { cpuBusy: false, lagging: false };
    return {
      cpuBusy: this.busySamples / this.samples >= 0.2,
      lagging: this.laggingSamples / this.samples >= 0.2 || eventLoopRunP99Ms >= LAGGING_MS,
    };
  }

  /** `backlog`: the generator's median receive backlog and its limit, when measured (a busy CPU then only informs). */
  warnings(eventLoopRunP99Ms: number, backlog?: { medianMs: number; limitMs: number }): string[] {
    const out: string[] = [];
    if (this.samples === 0) return out;
    const busy = this.busySamples / this.samples;
    const { cpuBusy, lagging } = this.signals(eventLoopRunP99Ms);
    if (cpuBusy) {
      const cpu = `the generator used ≥${Math.round(BUSY_RATIO * 100)} % of its ${this.cores} core(s) for ${Math.round(busy * 100)} % of the run`;
      out.push(
        backlog && backlog.medianMs <= backlog.limitMs
          ? `${cpu}, yet read its frames a median ${backlog.medianMs.toFixed(1)} ms behind (limit ${backlog.limitMs.toFixed(1)} ms): it kept up, the CPU figure is informative only`
          : `${cpu}: latency and delivery rates may be limited by the load generator, not the server (fewer viewers, more cores with --workers, or k6 on more machines)`,
      );
    }
    if (backlog && backlog.medianMs > backlog.limitMs) {
      out.push(
        `the generator read its frames a median ${backlog.medianMs.toFixed(1)} ms behind (unread bytes in its receive queues; limit ${backlog.limitMs.toFixed(1)} ms, a quarter of the p99 limit): ` +
          'latency and delivery rates are limited by the load generator, not the server',
      );
    }
    if (lagging) {
      out.push(
        `generator event loops lagged (p99 ${eventLoopRunP99Ms.toFixed(1)} ms over the run): latencies include time the generator took to read frames`,
      );
    }
    return out;
  }
}
