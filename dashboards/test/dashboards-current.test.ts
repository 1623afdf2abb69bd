import assert from 'node:assert/strict';
import { readdir, readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { DASHBOARD_DIR, DASHBOARDS, renderDashboard } from '../src/dashboard-files.ts';

test('the committed dashboard JSON is exactly what `npm run dashboards` generates', async () => {
  for (const [file, build] of Object.entries(DASHBOARDS)) {
    const committed = await readFile(new URL(file, DASHBOARD_DIR), 'utf8');
    assert.ok(committed === renderDashboard(build), `dashboards/json/${file} is stale: run \`npm run dashboards\` and commit the result`);
  }
});

test('dashboards/json holds no dashboard the generator does not write', async () => {
  const files = (await readdir(DASHBOARD_DIR)).filter((name) => name.endsWith('.json')).sort();
  assert.deepEqual(files, Object.keys(DASHBOARDS).sort());
});

test('every panel has a unique id, a title and at least one PromQL target on the templated data source', () => {
  for (const [file, build] of Object.entries(DASHBOARDS)) {
    const dashboard = JSON.parse(renderDashboard(build)) as { uid: string; panels: Panel[] };
    assert.match(dashboard.uid, /^chatstorm-/, file);
    const ids = new Set<number>();
    for (const panel of dashboard.panels) {
      assert.ok(!ids.has(panel.id), `${file}: duplicate panel id ${panel.id}`);
      ids.add(panel.id);
      assert.ok(panel.title, `${file}: panel ${panel.id} has no title`);
      if (panel.type === 'row') continue;
      assert.ok(panel.targets && panel.targets.length > 0, `${file}: "${panel.title}" has no query`);
      for (const target of panel.targets) {
        assert.ok(target.expr.trim(), `${file}: "${panel.title}" has an empty query`);
        assert.equal(target.datasource?.uid, '${datasource}', `${file}: "${panel.title}" must use the $datasource variable`);
      }
    }
  }
});

interface Panel {
  id: number;
  type: string;
  title: string;
  targets?: { expr: string; datasource?: { uid?: string } }[];
}
