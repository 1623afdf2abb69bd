import type { Dashboard } from '@grafana/grafana-foundation-sdk/dashboard';
import { loadTestDashboard } from './load-test-dashboard.ts';
import { serverDashboard } from './server-dashboard.ts';

/** Where the generated dashboards live; Grafana provisioning and docker-compose.yml mount this folder. */
export const DASHBOARD_DIR = new URL('../json/', import.meta.url);

/** Every generated dashboard, by file name: the one list that generate.ts writes and the tests read. */
export const DASHBOARDS: Record<string, () => Dashboard> = {
  'chatstorm-server.json': serverDashboard,
  'chatstorm-load-test.json': loadTestDashboard,
};

/** The exact bytes written for a dashboard: panel ids numbered in order, two-space JSON, final newline. */
export function renderDashboard(build: () => Dashboard): string {
  const dashboard = build();
  // The SDK leaves ids to the caller; Grafana needs them unique within a dashboard (links, "view panel").
  let id = 0;
  for (const panel of dashboard.panels ?? []) {
    (panel as { id?: number }).id = ++id;
    for (const inner of (panel as { panels?: { id?: number }[] }).panels ?? []) inner.id = ++id;
  }
  return `${JSON.stringify(dashboard, null, 2)}\n`;
}
