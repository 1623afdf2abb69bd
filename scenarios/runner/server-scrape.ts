import type { ServerSeriesPoint } from '../lib/results.ts';
import { now } from './clock.ts';

// Reads the target's own gauges from its /metrics (prom-client's process_* and nodejs_* metrics,
// under whatever prefix the server uses, and chatstorm_connections), so the report can put the
// server's cost and memory line next to the load.

export interface ServerSample {
  /** Epoch ms (clock.ts, the runner's one time base). */
  at: number;
  cpuSeconds: number;
  rssBytes: number;
  heapUsedBytes: number | null;
  openFds: number | null;
  eventLoopDelayP99Seconds: number | null;
  connections: number | null;
}

/** Every sample of `name` (any prefix, any labels) summed: null when the target has none. */
function gauge(text: string, name: string): number | null {
  const pattern = new RegExp(`^\\w*${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm');
  let sum: number | null = null;
  for (const m of text.matchAll(pattern)) {
    const v = Number(m[1]);
    if (Number.isFinite(v)) sum = (sum ?? 0) + v;
  }
  return sum;
}

export function parseServerMetrics(text: string, at: number): ServerSample | undefined {
  const cpu = gauge(text, 'process_cpu_seconds_total');
  if (cpu === null) return undefined;
  return {
    at,
    cpuSeconds: cpu,
    rssBytes: gauge(text, 'process_resident_memory_bytes') ?? 0,
    heapUsedBytes: gauge(text, 'nodejs_heap_size_used_bytes'),
    openFds: gauge(text, 'process_open_fds'),
    eventLoopDelayP99Seconds: gauge(text, 'nodejs_eventloop_lag_p99_seconds'),
    connections: gauge(text, 'chatstorm_connections'),
  };
}

export async function scrapeServer(metricsUrl: string): Promise<ServerSample | undefined> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) return undefined;
    // Stamped when asked, not when answered: a slow answer must not shift the sample in time.
    const at = now();
    return parseServerMetrics(await response.text(), at);
  } catch {
    return undefined;
  }
}

const MB = 1024 * 1024;

/** A sample on the run's time base: seconds since the load start (`startAt`, epoch ms). */
export function toSeriesPoint(s: ServerSample, startAt: number): ServerSeriesPoint {
  return {
    t: Math.round((s.at - startAt) / 100) / 10,
    rssMB: s.rssBytes / MB,
    heapUsedMB: s.heapUsedBytes === null ? null : s.heapUsedBytes / MB,
    openFds: s.openFds,
    eventLoopDelayP99Ms: s.eventLoopDelayP99Seconds === null ? null : s.eventLoopDelayP99Seconds * 1000,
    connections: s.connections,
    kibPerConnection: s.connections ? s.rssBytes / 1024 / s.connections : null,
    cpuSeconds: s.cpuSeconds,
  };
}

/** Samples the server every `periodMs` for the whole run; overlapping scrapes are skipped, not queued. */
export class ServerWatch {
  readonly samples: ServerSample[] = [];
  private readonly timer: NodeJS.Timeout;
  private busy = false;

  constructor(
    private readonly metricsUrl: string,
    periodMs: number,
  ) {
    this.timer = setInterval(() => void this.sample(), periodMs);
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    const s = await scrapeServer(this.metricsUrl);
    this.busy = false;
    if (s) this.samples.push(s);
  }

  /** From the load start on, in seconds since it. */
  series(startAt: number): (ServerSeriesPoint)[] {
    return this.samples.filter((s) => s.at >= startAt).map((s) => toSeriesPoint(s, startAt));
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/**
 * CPU over the whole run, and the memory line: `during` are samples taken through the load phase
 * (`afterRamp`, epoch ms, marks when the audience was complete).
 */
export function serverUsage(first: ServerSample, last: ServerSample, during: ServerSample[], afterRamp: number) {
  const wall = (last.at - first.at) / 1000;
  const loaded = during.filter((s) => s.at >= afterRamp);
  const base = loaded[0] ?? during[0] ?? last;
  const end = loaded[loaded.length - 1] ?? last;
  return {
    cpuPercent: wall > 0 ? ((last.cpuSeconds - first.cpuSeconds) / wall) * 100 : 0,
    rssMB: last.rssBytes / MB,
    rssAfterRampMB: base.rssBytes / MB,
    rssGrowthMB: (end.rssBytes - base.rssBytes) / MB,
  };
}
