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

function runNodeTest(files: string[], concurrency: number, extra: string[]): number {
  if (files.length === 0) return 0;
  const args = ['--import', 'tsx', '--test', `--test-concurrency=${concurrency}`, '--test-timeout=180000', ...extra, ...files];
  const { status, signal } = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit' });
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
    [...SLOW_FIRST, ...others.filter((f) => !SLOW_FIRST.includes(f))],
    2,
    extra,
  );
  const heavy = runNodeTest(
    files.filter((f) => HEAVY.includes(f)),
    1,
    extra,
  );
  process.exit(light || heavy);
}
