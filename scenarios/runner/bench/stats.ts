// Exact percentiles of a few hundred thousand samples: sorting is cheaper than being approximate.

export class Samples {
  private values = new Float64Array(1024);
  count = 0;

  add(value: number): void {
    if (this.count === this.values.length) {
      const grown = new Float64Array(this.values.length * 2);
      grown.set(this.values);
      this.values = grown;
    }
    this.values[this.count++] = value;
  }

  /** p in [0, 100]; NaN when empty. */
  percentiles(...ps: number[]): number[] {
    const sorted = this.values.slice(0, this.count).sort();
    return ps.map((p) => (this.count === 0 ? NaN : sorted[Math.min(this.count - 1, Math.max(0, Math.ceil((p / 100) * this.count) - 1))]!));
  }
}

/** Reads counters and gauges from a Prometheus text exposition: `name{labels}` exactly as printed. */
export async function scrapeSeries(metricsUrl: string, series: string[]): Promise<Record<string, number>> {
  const text = await (await fetch(metricsUrl, { signal: AbortSignal.timeout(5000) })).text();
  const out: Record<string, number> = {};
  for (const name of series) {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    out[name] = line === undefined ? NaN : Number(line.slice(name.length + 1));
  }
  return out;
}
