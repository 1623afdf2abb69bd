import { AsyncLocalStorage } from 'node:async_hooks';

// What the k6 shims share: the samples every metric recorded, the running VU (each VU's
// iteration runs inside its own async context, like k6's one-runtime-per-VU), and every use of
// a k6 API that real k6 would not accept or that would hang it.

export interface Sample {
  value: number;
  tags: Record<string, string>;
}

export interface MetricRecord {
  type: 'counter' | 'gauge' | 'rate' | 'trend';
  isTime: boolean;
  samples: Sample[];
}

export const emulation = {
  metrics: new Map<string, MetricRecord>(),
  vu: new AsyncLocalStorage<number>(),
  violations: [] as string[],
  sockets: { opened: 0, tokenInHeader: 0 },
  reset(): void {
    this.metrics.clear();
    this.violations = [];
    this.sockets = { opened: 0, tokenInHeader: 0 };
  },
};
