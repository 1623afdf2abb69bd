import { emulation, type MetricRecord } from './state.ts';

// k6/metrics: every add() becomes a sample; the run computes k6's summary values from them.
abstract class Metric {
  protected abstract readonly type: MetricRecord['type'];
  private record: MetricRecord | undefined;

  constructor(
    readonly name: string,
    private readonly isTime = false,
  ) {
    if (emulation.vu.getStore() !== undefined) emulation.violations.push(`metric ${name} declared outside the init context`);
  }

  add(value: number | boolean, tags: Record<string, string> = {}): void {
    if (!this.record) {
      this.record = emulation.metrics.get(this.name);
      if (!this.record) emulation.metrics.set(this.name, (this.record = { type: this.type, isTime: this.isTime, samples: [] }));
    }
    for (const [k, v] of Object.entries(tags)) if (typeof v !== 'string') emulation.violations.push(`metric ${this.name}: tag ${k} is not a string`);
    this.record.samples.push({ value: typeof value === 'boolean' ? (value ? 1 : 0) : value, tags });
  }
}

export class Counter extends Metric {
  protected readonly type = 'counter';
}
export class Gauge extends Metric {
  protected readonly type = 'gauge';
}
export class Rate extends Metric {
  protected readonly type = 'rate';
}
export class Trend extends Metric {
  protected readonly type = 'trend';
}
