import { emulation } from './state.ts';

// k6/execution: only what the scripts read.
export default {
  vu: {
    get idInTest(): number {
      const vu = emulation.vu.getStore();
      if (vu === undefined) throw new Error('k6/execution: exec.vu read outside a VU');
      return vu;
    },
  },
  instance: {
    // The emulation runs every VU to its end before teardown; a VU asking is treated as the last.
    vusActive: 1,
  },
  test: {
    // One instance, no execution segment: what plain `k6 run` reports.
    options: { executionSegment: undefined as string | undefined },
    abort(reason?: string): never {
      emulation.violations.push(`exec.test.abort: ${reason ?? ''}`);
      throw new Error(`test aborted: ${reason ?? ''}`);
    },
  },
};
