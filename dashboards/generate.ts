import { writeFile } from 'node:fs/promises';
import { DASHBOARD_DIR, DASHBOARDS, renderDashboard } from './src/dashboard-files.ts';

// `npm run dashboards`: writes every dashboard's JSON into dashboards/json/ (committed, so Grafana
// and docker compose need no build step). dashboards/test/dashboards-current.test.ts fails when
// the committed files differ from what this writes.

for (const [file, build] of Object.entries(DASHBOARDS)) {
  const url = new URL(file, DASHBOARD_DIR);
  await writeFile(url, renderDashboard(build));
  console.log(`wrote ${url.pathname}`);
}
