// Reads the Prometheus text exposition format into { 'name{a="x",b="y"}': value }, with the labels
// in the order the server writes them, which is enough to compare two scrapes of one server.

export type Samples = ReadonlyMap<string, number>;

export function parseMetricsText(text: string): Samples {
  const samples = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const space = line.lastIndexOf(' ');
    samples.set(line.slice(0, space), Number(line.slice(space + 1)));
  }
  return samples;
}

export async function scrape(metricsUrl: string): Promise<Samples> {
  const response = await fetch(metricsUrl);
  if (!response.ok) throw new Error(`GET ${metricsUrl}: ${response.status}`);
  return parseMetricsText(await response.text());
}

/** A series key as the server writes it: sample('x_total', { code: '400' }) → 'x_total{code="400"}'. */
export function series(name: string, labels: Record<string, string> = {}): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  return pairs.length ? `${name}{${pairs.join(',')}}` : name;
}

/** What each listed series moved by between two scrapes (a series absent before counts from 0). */
export function deltas(before: Samples, after: Samples, keys: readonly string[]): Record<string, number> {
  const moved: Record<string, number> = {};
  for (const key of keys) {
    if (!after.has(key)) throw new Error(`the server does not export ${key}`);
    moved[key] = after.get(key)! - (before.get(key) ?? 0);
  }
  return moved;
}

/**
 * Scrapes until every listed series moved by exactly the expected amount, or fails after `ms` with
 * what moved instead. Closing handshakes reach the server's counters a moment after the client
 * sees them, so a single scrape could be early; a counter that overshoots never matches.
 */
export async function waitForDeltas(
  metricsUrl: string,
  before: Samples,
  expected: Record<string, number>,
  ms = 3000,
): Promise<void> {
  const deadline = Date.now() + ms;
  const keys = Object.keys(expected);
  for (;;) {
    const moved = deltas(before, await scrape(metricsUrl), keys);
    if (keys.every((key) => moved[key] === expected[key])) return;
    if (Date.now() > deadline) {
      const diff = keys.filter((key) => moved[key] !== expected[key]).map((key) => `  ${key}: expected +${expected[key]}, moved +${moved[key]}`);
      throw new Error(`counters did not move as expected within ${ms} ms:\n${diff.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
