import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from './support/compose-file.ts';
import { prometheusBinaries } from './support/prometheus-binaries.ts';

const run = promisify(execFile);

async function promtool(t: Parameters<typeof prometheusBinaries>[0], ...args: string[]): Promise<string> {
  const binaries = prometheusBinaries(t);
  if (!binaries) return '';
  const { stdout, stderr } = await run(binaries.promtool, args, { cwd: REPO_ROOT }).catch((error: { stdout?: string; stderr?: string }) => {
    assert.fail(`promtool ${args.join(' ')} failed:\n${error.stdout ?? ''}${error.stderr ?? ''}`);
  });
  return stdout + stderr;
}

test('promtool check config accepts dashboards/prometheus.yml and the rule files it loads', async (t) => {
  const out = await promtool(t, 'check', 'config', 'dashboards/prometheus.yml');
  if (out) assert.match(out, /SUCCESS: 1 rule files found/);
});

test('promtool check rules accepts the alert rules', async (t) => {
  const out = await promtool(t, 'check', 'rules', 'dashboards/alerts/chatstorm.rules.yml');
  if (out) assert.match(out, /SUCCESS: \d+ rules found/);
});

test('promtool test rules: every alert fires on its synthetic history and not on a healthy one', async (t) => {
  const out = await promtool(t, 'test', 'rules', 'dashboards/alerts/chatstorm.rules.test.yml');
  if (out) assert.match(out, /SUCCESS/);
});
