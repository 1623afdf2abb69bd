// Reads the target's own CPU and memory from its /metrics (prom-client's process_* metrics, under
// whatever prefix the server uses), so the report can put the server's cost next to the load.

export interface ServerSample {
  at: number;
  cpuSeconds: number;
  rssBytes: number;
}

export async function scrapeServer(metricsUrl: string): Promise<ServerSample | undefined> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) return undefined;
    const text = await response.text();
    const cpu = /^\w*process_cpu_seconds_total(?:\{[^}]*\})? (\S+)$/m.exec(text);
    const rss = /^\w*process_resident_memory_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text);
    if (!cpu) return undefined;
    return { at: performance.now(), cpuSeconds: Number(cpu[1]), rssBytes: rss ? Number(rss[1]) : 0 };
  } catch {
    return undefined;
  }
}

const MB = 1024 * 1024;

/**
 * CPU over the whole run, and the memory line: `during` are samples taken through the load phase
 * (`afterRamp` marks when the audience was complete).
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
