import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import type { RunResult } from '../lib/results.ts';
import { runBench, tempDir } from './support/processes.ts';

// The Node runner must see faults of its own making: a generator that broke is a failed run with
// its cause, never a passing run or a "saturated generator".

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;

describe('node runner faults', () => {
  it('fails the run naming the cause when a worker thread dies, and does not call it a saturated generator', async (t) => {
    const out = path.join(tempDir(t), 'crash.json');
    const { finished } = runBench(['--profile', 'smoke', '--workers', '2', '--duration', '3s', '--no-pin', '--out', out], 60_000, {
      CHATSTORM_TEST_CRASH_WORKER: '0',
    });
    const { code, output } = await finished;
    assert.equal(code, 1, `a dead worker fails the run (exit 1, not a setup error)\n${output}`);
    const r = readResult(out);
    assert.equal(r.passed, false);
    const causes = Object.keys(r.errors).filter((k) => k.startsWith('worker 0 died:'));
    assert.deepEqual(causes, ['worker 0 died: test-only crash of worker 0 (CHATSTORM_TEST_CRASH_WORKER)'], JSON.stringify(r.errors));
    assert.equal(r.generator.workers, 2);
    // Saturation is judged from the generator's own CPU and event-loop samples; the crash is not one of them.
    assert.ok(!r.generator.warnings.some((w) => /worker/.test(w)), `warnings: ${JSON.stringify(r.generator.warnings)}`);
    assert.equal(r.generator.bottleneck, r.generator.warnings.length > 0);
    assert.match(output, /worker 0 died: Error: test-only crash/, 'the stack goes to the log');
    assert.match(output, /result +FAILED/);
  });
});
