import { emulation } from './state.ts';

// k6/execution: only what the scripts read.
export default {
  // One instance, no execution segment: what plain `k6 run` reports.
  test: { options: { executionSegment: undefined as string | undefined } },
  vu: {
    get idInTest(): number {
      const vu = emulation.vu.getStore();
      if (vu === undefined) throw new Error('k6/execution: exec.vu read outside a VU');
      return vu;
    },
  },
};
