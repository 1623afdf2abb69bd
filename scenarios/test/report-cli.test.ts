import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveProfile } from '../lib/profile.ts';
import { PROFILES } from '../profiles/index.ts';
import { readReportModel } from '../runner/html-report.ts';
import { capacityRun, normalRun } from './support/report-fixtures.ts';
import { REPO_ROOT, tempDir } from './support/processes.ts';

// `npm run report` on what it is given.

function report(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', 'scenarios/runner/report-cli.ts', ...args], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
}

describe('npm run report', () => {
  it('refuses a file that is not a results JSON, naming the file and what is wrong, and writes nothing', (t) => {
    const dir = tempDir(t);
    const profile = path.join(dir, 'profile.json');
    writeFileSync(profile, JSON.stringify(resolveProfile(PROFILES.smoke!)));
    const notJson = path.join(dir, 'truncated.json');
    writeFileSync(notJson, JSON.stringify(normalRun()).slice(0, 200));
    const good = path.join(dir, 'good.json');
    writeFileSync(good, JSON.stringify(normalRun()));

    const a = report([good, profile]);
    assert.equal(a.status, 2, a.stderr);
    assert.match(a.stderr, new RegExp(`report: ${profile.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: not a chatstorm results JSON .*schemaVersion: `));
    assert.equal(existsSync(path.join(dir, 'good.compare.html')), false, 'no page for a refused set');

    const b = report([notJson]);
    assert.equal(b.status, 2);
    assert.match(b.stderr, /truncated\.json: not a results JSON: not JSON at all/);
    const c = report([path.join(dir, 'absent.json')]);
    assert.equal(c.status, 2);
    assert.match(c.stderr, /absent\.json: cannot be read \(ENOENT\)/);
    const d = report([]);
    assert.equal(d.status, 2);
    assert.match(d.stderr, /no results file given/);
  });

  it('renders one run beside its JSON by default, with the results file’s own figures', (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'cap.json');
    writeFileSync(file, JSON.stringify(capacityRun()));
    const run = report([file]);
    assert.equal(run.status, 0, run.stderr);
    const page = readFileSync(path.join(dir, 'cap.html'), 'utf8');
    assert.deepEqual(readReportModel(page).runs, ['capacity']);
    assert.match(page, /<h1 id="headline">chatstorm capacity: <span class="warn">GENERATOR-BOUND<\/span>/);
  });
});
