import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// npm test: every *.test.ts under a test/ folder of server/, scenarios/ and dashboards/. The files
// in HEAVY run one at a time after the others, which run two at a time: two cores cannot run two
// load runs side by side without each one measuring the other. A file is heavy when it runs load
// (the runner, k6, a bench script) or asserts how soon something happens under load.

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const AREAS = ['server', 'scenarios', 'dashboards'];

export const HEAVY = [
  'dashboards/test/prometheus-e2e.test.ts',
  'scenarios/test/audit-run.test.ts',
  // Real runs that stall the generator or SIGSTOP the server, and judge where the backlog sat.
  'scenarios/test/backlog-verdict.test.ts',
  'scenarios/test/bench-compare.test.ts',
  'scenarios/test/capacity-rate-steps.test.ts',
  'scenarios/test/capacity-sweep.test.ts',
  'scenarios/test/k6-bundles.test.ts',
  'scenarios/test/k6-faults.test.ts',
  'scenarios/test/k6-rate-steps.test.ts',
  'scenarios/test/k6-segments.test.ts',
  'scenarios/test/node-runner.test.ts',
  'scenarios/test/real-k6.test.ts',
  'scenarios/test/regression-gate.test.ts',
  'scenarios/test/replay-runner.test.ts',
  'scenarios/test/runner-faults.test.ts',
  'scenarios/test/shards.test.ts',
  'scenarios/test/soak-run.test.ts',
  'scenarios/test/timeline-gaps.test.ts',
  'server/test/http-slow-senders.test.ts',
  // Its least-connections balancer spread 3/1/2 instead of 2/2/2 once with two other files running.
  'server/test/redis-node-kill.test.ts',
  'server/test/slow-consumer.test.ts',
];

// The slowest of the others (seconds each, mostly waiting on processes and engine timeouts) start
// first: started last in name order, workers.test.ts alone ran half a minute after the rest were done.
const SLOW_FIRST = ['server/test/workers.test.ts', 'server/test/fuzz-http.test.ts', 'server/test/engine-edges.test.ts', 'server/test/server-process.test.ts'];

export function testFiles(root = ROOT): string[] {
  return AREAS.flatMap((area) =>
    readdirSync(path.join(root, area), { recursive: true, encoding: 'utf8' })
      .map((file) => path.join(area, file).split(path.sep).join('/'))
      .filter((file) => !file.includes('/node_modules/') && file.includes('/test/') && file.endsWith('.test.ts')),
  ).sort();
}

/** Any one test: a test that hangs fails with node:test's timeout error instead of waiting. */
const TEST_TIMEOUT_MS = 180_000;
/**
 * A whole stage (today ~2 min light, ~9 min heavy here): a file that never exits after its tests
 * (a handle left open), which the per-test timeout cannot see, is killed and the stage fails,
 * instead of holding CI until its own 90-minute limit.
 */
const STAGE_DEADLINE_MS = { light: 15 * 60_000, heavy: 30 * 60_000 } as const;

function runNodeTest(stage: keyof typeof STAGE_DEADLINE_MS, files: string[], concurrency: number, extra: string[]): number {
  if (files.length === 0) return 0;
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, `--test-timeout=${TEST_TIMEOUT_MS}`, ...extra, ...files];
  const deadline = STAGE_DEADLINE_MS[stage];
  const { status, signal, error } = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit', timeout: deadline, killSignal: 'SIGKILL' });
  if ((error as NodeJS.ErrnoException | undefined)?.code === 'ETIMEDOUT') {
    console.error(`scripts/run-tests.ts: the ${stage} test files did not finish within ${deadline / 60_000} min and were killed (a test or a file that never exits)`);
    return 1;
  }
  return status ?? (signal ? 1 : 0);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const files = testFiles();
  const stale = [...HEAVY, ...SLOW_FIRST].filter((file) => !files.includes(file));
  if (stale.length > 0) {
    console.error(`scripts/run-tests.ts: HEAVY or SLOW_FIRST names files that do not exist: ${stale.join(', ')}`);
    process.exit(2);
  }
  // Options such as --test-reporter go to both runs; test files are always all of them.
  const extra = process.argv.slice(2).filter((a) => a.startsWith('--'));
  const others = files.filter((f) => !HEAVY.includes(f));
  const light = runNodeTest(
    'light',
    [...SLOW_FIRST, ...others.filter((f) => !SLOW_FIRST.includes(f))],
    2,
    extra,
  );
  const heavy = runNodeTest(
    'heavy',
    files.filter((f) => HEAVY.includes(f)),
    1,
    extra,
  );
  process.exit(light || heavy);
}
