import type { Counter, Histogram, LabelValues } from 'prom-client';

// Counts and observations of the per-message and per-handshake paths, kept as plain numbers and
// added to their prom-client metric when it is scraped (its collect() is foldTallies). Hand-written
// because it is the hot path: prom-client's inc() and observe() check their arguments, hash the
// label values and allocate on every call, about eight times per message. Exact: nothing is
// sampled or dropped, only added at the next scrape instead of at once.

const folds = new WeakMap<object, Array<() => void>>();

function onCollect(metric: object, fold: () => void): void {
  const list = folds.get(metric);
  if (list) list.push(fold);
  else folds.set(metric, [fold]);
}

/** The collect() of a metric that has tallies: adds what they hold since the last scrape. */
export function foldTallies(this: object): void {
  const list = folds.get(this);
  if (list) for (const fold of list) fold();
}

export class Tally {
  value = 0;
}

/** A tally for one label set of a counter whose collect is foldTallies. */
export function counterTally<T extends string>(counter: Counter<T>, labels: LabelValues<T> = {}): Tally {
  const tally = new Tally();
  onCollect(counter, () => {
    if (tally.value === 0) return;
    counter.inc(labels, tally.value);
    tally.value = 0;
  });
  return tally;
}

/** prom-client's record of one label set of a histogram: not public API, so the test of this module reads it back through a scrape. */
interface HistogramEntry {
  bucketValues: Record<number, number>;
  sum: number;
  count: number;
}

/** Observations of an unlabelled histogram whose collect is foldTallies. */
export class HistogramTally {
  private readonly counts: Float64Array;
  private sum = 0;
  private count = 0;

  constructor(
    private readonly histogram: Histogram,
    private readonly bounds: readonly number[],
  ) {
    this.counts = new Float64Array(bounds.length);
    onCollect(histogram, () => this.fold());
  }

  observe(value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > bounds[i]!) i++;
    // Past the last bound only the count and sum move (+Inf is the count).
    if (i < bounds.length) this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  private fold(): void {
    if (this.count === 0) return;
    const internal = this.histogram as unknown as { hashMap: Record<string, HistogramEntry | undefined> };
    // The unlabelled series is keyed ''; reset() empties the map and zero({}) makes it again.
    if (!internal.hashMap['']) this.histogram.zero({});
    const entry = internal.hashMap['']!;
    for (let i = 0; i < this.bounds.length; i++) {
      const n = this.counts[i]!;
      if (n) entry.bucketValues[this.bounds[i]!] = (entry.bucketValues[this.bounds[i]!] ?? 0) + n;
      this.counts[i] = 0;
    }
    entry.sum += this.sum;
    entry.count += this.count;
    this.sum = 0;
    this.count = 0;
  }
}
