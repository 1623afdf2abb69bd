import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { METRIC } from '../../scenarios/k6/options.ts';
import { DASHBOARDS, renderDashboard } from '../src/dashboard-files.ts';
import { readCompose, REPO_ROOT } from './support/compose-file.ts';

// No k6 runs here, so the k6_* queries of the dashboards and alerts never meet real data in a
// test. This checks each name against what k6 would push: a metric the scripts declare (or a k6
// built-in), with the suffix the remote-write output gives its type.

type K6Type = 'Counter' | 'Gauge' | 'Rate' | 'Trend';

// k6's own metrics that the dashboards read (k6 core and k6/websockets).
const BUILTIN: Record<string, K6Type> = {
  vus: 'Gauge',
  vus_max: 'Gauge',
  data_sent: 'Counter',
  data_received: 'Counter',
  http_req_failed: 'Rate',
  ws_sessions: 'Counter',
  ws_msgs_sent: 'Counter',
  ws_msgs_received: 'Counter',
  ws_connecting: 'Trend',
};

/** The custom metrics of scenarios/k6/k6-metrics.ts, by k6 name, with their type. */
function declaredMetrics(): Record<string, K6Type> {
  const source = readFileSync(`${REPO_ROOT}scenarios/k6/k6-metrics.ts`, 'utf8');
  const declared: Record<string, K6Type> = {};
  for (const [, type, key] of source.matchAll(/new (Counter|Gauge|Rate|Trend)\(METRIC\.(\w+)/g)) {
    const name = METRIC[key as keyof typeof METRIC];
    assert.ok(name, `k6-metrics.ts uses METRIC.${key}, which options.ts does not define`);
    declared[name] = type as K6Type;
  }
  return declared;
}

/** The statistics the compose file asks remote write to export for trends: p(99) → p99. */
function trendStats(): string[] {
  const stats = String(readCompose().services.k6!.environment!.K6_PROMETHEUS_RW_TREND_STATS);
  return stats.split(',').map((stat) => stat.replace(/^p\((.+)\)$/, (_m, n: string) => `p${n.replace('.', '')}`));
}

function exportedNames(metrics: Record<string, K6Type>, stats: string[]): Set<string> {
  const names = new Set<string>();
  for (const [name, type] of Object.entries(metrics)) {
    if (type === 'Counter') names.add(`k6_${name}_total`);
    if (type === 'Gauge') names.add(`k6_${name}`);
    if (type === 'Rate') names.add(`k6_${name}_rate`);
    if (type === 'Trend') for (const stat of stats) names.add(`k6_${name}_${stat}`);
  }
  return names;
}

test('every k6_* name in the dashboards and alert rules is one k6 pushes by remote write', () => {
  const exported = exportedNames({ ...BUILTIN, ...declaredMetrics() }, trendStats());
  const texts = [
    ...Object.values(DASHBOARDS).map((build) => renderDashboard(build)),
    readFileSync(`${REPO_ROOT}dashboards/alerts/chatstorm.rules.yml`, 'utf8'),
  ];
  const used = new Set(texts.flatMap((text) => text.match(/\bk6_\w+/g) ?? []));
  assert.ok(used.size > 10, 'the load-test dashboard has a k6 row');
  const unknown = [...used].filter((name) => !exported.has(name)).sort();
  assert.deepEqual(unknown, [], `k6 would push none of these (see scenarios/k6/options.ts and K6_PROMETHEUS_RW_TREND_STATS)`);
});

test('the custom k6 metrics the dashboards read are time trends in seconds and tagged counters', () => {
  const declared = declaredMetrics();
  assert.equal(declared.delivery_latency, 'Trend');
  assert.equal(declared.deliveries, 'Counter');
  assert.equal(declared.deliveries_missing, 'Counter');
  // Remote write converts a time trend (isTime) from milliseconds to seconds, which the panels assume.
  const source = readFileSync(`${REPO_ROOT}scenarios/k6/k6-metrics.ts`, 'utf8');
  assert.match(source, /new Trend\(METRIC\.latency, true\)/);
});
