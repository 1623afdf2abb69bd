import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { TestContext } from 'node:test';

// promtool and prometheus come from the Debian package `prometheus` (.ci/run installs it). On a
// developer machine without it the Prometheus tests skip with a note; in CI (CI=true) a missing
// binary fails the test, so the checks can never quietly stop running there.

export function findOnPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/** The binaries' paths, or undefined after skipping `t` (outside CI); throws in CI. */
export function prometheusBinaries(t: TestContext): { promtool: string; prometheus: string } | undefined {
  const promtool = findOnPath('promtool');
  const prometheus = findOnPath('prometheus');
  if (promtool && prometheus) return { promtool, prometheus };
  const message = `promtool/prometheus not on PATH (apt-get install prometheus)`;
  if (process.env.CI === 'true' || process.env.CI === '1') throw new Error(`${message}: required in CI`);
  t.skip(message);
  return undefined;
}
