// The counters a capacity sweep reads from the target's /metrics at each window boundary: what the
// server itself spent (CPU, memory) and did (deliveries, bytes, handshakes, tokens). Differences
// between two readings give the per-delivery and per-connection costs of the capacity model.
// Separate from server-scrape.ts (the run's CPU/memory line): these are sums over labelled series.

export interface ServerCounters {
  /** Epoch ms (clock.ts). */
  at: number;
  cpuSeconds: number;
  rssBytes: number;
  /** null where the target does not export it (not chatstorm). */
  deliveries: number | null;
  deliveredBytes: number | null;
  handshakes: number | null;
  tokensCreated: number | null;
  connections: number | null;
}

/** Sum of every series of one metric (any prefix, any labels), or null when it is absent. */
export function sumMetric(text: string, name: string): number | null {
  const pattern = new RegExp(`^\\w*?${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm');
  let total: number | null = null;
  for (const m of text.matchAll(pattern)) {
    const value = Number(m[1]);
    if (Number.isFinite(value)) total = (total ?? 0) + value;
  }
  return total;
}

export function parseServerCounters(text: string, at: number): ServerCounters | undefined {
  const cpuSeconds = sumMetric(text, 'process_cpu_seconds_total');
  if (cpuSeconds === null) return undefined;
  return {
    at,
    cpuSeconds,
    rssBytes: sumMetric(text, 'process_resident_memory_bytes') ?? 0,
    deliveries: sumMetric(text, 'chatstorm_fanout_deliveries_total'),
    deliveredBytes: sumMetric(text, 'chatstorm_fanout_delivered_bytes_total'),
    handshakes: sumMetric(text, 'chatstorm_handshakes_total'),
    tokensCreated: sumMetric(text, 'chatstorm_tokens_created_total'),
    connections: sumMetric(text, 'chatstorm_connections'),
  };
}

export async function readServerCounters(metricsUrl: string, now: () => number): Promise<ServerCounters | undefined> {
  try {
    const response = await fetch(metricsUrl, { signal: AbortSignal.timeout(3000) });
    if (!response.ok) return undefined;
    return parseServerCounters(await response.text(), now());
  } catch {
    return undefined;
  }
}
