import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { REPO_ROOT, tempDir } from './support/processes.ts';
import { model } from './support/crafted-model.ts';

// npm run plan as a user runs it, against a crafted model file.

function plan(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scenarios/runner/plan-cli.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
  return { code: r.status, output: `${r.stdout}${r.stderr}` };
}

describe('npm run plan', () => {
  it('answers nodes, machines with their --workers, the binding resource and the headroom from a model file', (t) => {
    const file = path.join(tempDir(t), 'model.json');
    writeFileSync(file, JSON.stringify(model()));
    const r = plan(['--viewers', '500000', '--rooms', '200', '--rate', '20', '--p99', '250ms', '--churn', '3000/min', '--model', file, '--cores-per-machine', '8', '--headroom', '0']);
    assert.equal(r.code, 0, r.output);
    assert.match(r.output, /answer {8}50 node\(s\): 7 machine\(s\) of 8 core\(s\), each running chatstorm --workers 8/);
    assert.match(r.output, /binds {9}deliveries, with 0 % headroom \(0 % asked\)/);
    assert.match(r.output, /EXTRAPOLATED {2}rooms of 2,500 viewers: the model measured rooms up to 1,500/);
  });

  it('says it cannot answer, exit 1, when no measured step met the p99 asked for', (t) => {
    const file = path.join(tempDir(t), 'model.json');
    writeFileSync(file, JSON.stringify(model()));
    const r = plan(['--viewers', '1000', '--rooms', '1', '--rate', '1', '--p99', '5ms', '--model', file]);
    assert.equal(r.code, 1, r.output);
    assert.match(r.output, /CANNOT ANSWER no measured step met p99 ≤ 5 ms/);
  });

  it('refuses a missing model, a file that is not a model and a malformed flag with a usage error (exit 2)', (t) => {
    const dir = tempDir(t);
    const missing = plan(['--viewers', '10', '--rooms', '1', '--rate', '1', '--p99', '250ms', '--model', path.join(dir, 'none.json')]);
    assert.equal(missing.code, 2);
    assert.match(missing.output, /no such file \(measure one with npm run capacity\)/);
    const other = path.join(dir, 'other.json');
    writeFileSync(other, '{"scenario":"fanout"}');
    assert.match(plan(['--viewers', '10', '--rooms', '1', '--rate', '1', '--p99', '250ms', '--model', other]).output, /not a capacity model written by npm run capacity/);
    const churn = plan(['--viewers', '10', '--rooms', '1', '--rate', '1', '--p99', '250ms', '--churn', 'lots']);
    assert.equal(churn.code, 2);
    assert.match(churn.output, /--churn lots: joins per minute or second/);
    assert.match(plan(['--rooms', '1', '--rate', '1', '--p99', '250ms']).output, /--viewers is required/);
  });
});
