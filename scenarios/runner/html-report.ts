import type { RunResult, TimelinePoint } from '../lib/results.ts';
import { replayCharts } from './replay/replay-charts.ts';

// The run as a page a person can look at: the headline figures and the timeline as line charts.
// Plain SVG written here rather than a charting library: the file must open offline, from a CI
// artifact, with no script to load, and four line charts need only scales and a polyline.

interface Series {
  label: string;
  color: string;
  values: (p: TimelinePoint) => number | undefined;
  dashed?: boolean;
}

interface Chart {
  title: string;
  unit: string;
  series: Series[];
}

const WIDTH = 760;
const HEIGHT = 220;
const MARGIN = { top: 16, right: 16, bottom: 30, left: 64 };

const escape = (text: string) =>
  text.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]!);

/** Round maxima to 1, 2 or 5 times a power of ten so axis labels read well. */
function niceCeiling(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

const formatNumber = (n: number) =>
  n >= 1e6 ? `${+(n / 1e6).toFixed(1)}M` : n >= 1e3 ? `${+(n / 1e3).toFixed(1)}k` : `${+n.toFixed(1)}`;

export function lineChart(chart: Chart, timeline: readonly TimelinePoint[]): string {
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const tMax = Math.max(1, ...timeline.map((p) => p.t));
  const yMax = niceCeiling(
    Math.max(0, ...chart.series.flatMap((s) => timeline.map((p) => s.values(p) ?? 0))) * 1.05,
  );
  const x = (t: number) => MARGIN.left + (t / tMax) * plotWidth;
  const y = (v: number) => MARGIN.top + plotHeight - (v / yMax) * plotHeight;

  const grid: string[] = [];
  for (let i = 0; i <= 4; i++) {
    const value = (yMax / 4) * i;
    grid.push(
      `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(value)}" y2="${y(value)}" stroke="#e5e7eb"/>` +
        `<text x="${MARGIN.left - 6}" y="${y(value) + 4}" text-anchor="end">${formatNumber(value)}</text>`,
    );
  }
  const tStep = niceCeiling(tMax / 8);
  for (let t = 0; t <= tMax + 1e-9; t += tStep) {
    grid.push(`<text x="${x(t)}" y="${HEIGHT - 10}" text-anchor="middle">${formatNumber(t)}s</text>`);
  }
  const lines = chart.series.map((s) => {
    const points = timeline
      .map((p) => [p.t, s.values(p)] as const)
      .filter((point): point is readonly [number, number] => point[1] !== undefined && Number.isFinite(point[1]))
      .map(([t, v]) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`)
      .join(' ');
    return `<polyline data-series="${escape(s.label)}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''} points="${points}"/>`;
  });
  const legend = chart.series
    .map((s) => `<span class="key"><i style="background:${s.color}"></i>${escape(s.label)}</span>`)
    .join(' ');
  return `<figure><figcaption>${escape(chart.title)} <small>(${escape(chart.unit)})</small> ${legend}</figcaption>
<svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${escape(chart.title)}">${grid.join('')}${lines.join('')}</svg></figure>`;
}

export function renderHtmlReport(result: RunResult): string {
  const charts: Chart[] = [
    {
      title: 'Viewers',
      unit: 'connections',
      series: [
        { label: 'connected', color: '#2563eb', values: (p) => p.viewers },
        { label: 'target', color: '#9ca3af', values: (p) => p.target, dashed: true },
      ],
    },
    {
      title: 'Deliveries',
      unit: 'frames per second',
      series: [{ label: 'delivered/s', color: '#059669', values: (p) => p.deliveriesPerSecond }],
    },
    {
      title: 'End-to-end latency',
      unit: 'ms, per interval',
      series: [
        { label: 'p50', color: '#7c3aed', values: (p) => p.p50Ms },
        { label: 'p99', color: '#dc2626', values: (p) => p.p99Ms },
      ],
    },
    {
      title: 'Messages sent and generator CPU',
      unit: 'per second · % of one core',
      series: [
        { label: 'sent/s', color: '#d97706', values: (p) => p.sentPerSecond },
        { label: 'generator CPU %', color: '#6b7280', values: (p) => p.generatorCpuPercent, dashed: true },
      ],
    },
  ];
  const l = result.latencyMs;
  const d = result.deliveries;
  const rows: [string, string][] = [
    ['target', `${result.target.url} (${result.target.kind}), ${result.engine} engine`],
    ['duration', `${result.durationSeconds.toFixed(1)} s from ${result.startedAt}`],
    ['viewers', `peak ${result.viewers.peak}`],
    ['messages', `sent ${result.messages.sent} · acked ${result.messages.acked}`],
    ['deliveries', `expected ${d.expected} · delivered ${d.delivered} · missing ${d.missing} · duplicated ${d.duplicated} · out of order ${d.outOfOrder}`],
    ['latency (ms)', `p50 ${l.p50} · p90 ${l.p90} · p99 ${l.p99} · p99.9 ${l.p999} · max ${l.max}`],
    ['errors', Object.entries(result.errors).map(([code, n]) => `${code}: ${n}`).join(' · ') || 'none'],
  ];
  const a = result.audit;
  if (a) {
    rows.push([
      'chat-log audit',
      `${a.passed ? 'PASS' : 'FAIL'}: acknowledged ${a.messages.acknowledged} · logged ${a.messages.logged} · missing from log ${a.messages.missing} · ` +
        `duplicated in log ${a.messages.duplicated} · out of order ${a.messages.outOfOrder} · events logged ${a.events.logged} of ${a.events.acknowledged}` +
        a.problems.map((p) => ` — ${p}`).join(''),
    ]);
  }
  const thresholds = result.thresholds
    .map((t) => `<li class="${t.pass ? 'pass' : 'fail'}">${t.pass ? 'PASS' : 'FAIL'} <code>${escape(t.expression)}</code> observed ${escape(String(t.observed ?? t.note ?? 'n/a'))}</li>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>chatstorm ${escape(result.scenario)} — ${escape(result.startedAt)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px auto;max-width:800px;color:#111}
h1{font-size:20px;margin:0 0 4px} table{border-collapse:collapse;margin:12px 0}
td{padding:2px 12px 2px 0;vertical-align:top} td:first-child{color:#6b7280}
figure{margin:20px 0} figcaption{font-weight:600;margin-bottom:4px} small{font-weight:400;color:#6b7280}
svg{width:100%;height:auto;font-size:11px;fill:#6b7280} .key{font-weight:400;margin-left:12px}
.key i{display:inline-block;width:12px;height:3px;margin:0 4px 3px 0} .pass{color:#047857} .fail{color:#b91c1c}
</style></head><body>
<h1>chatstorm ${escape(result.scenario)}: ${result.passed ? '<span class="pass">PASSED</span>' : '<span class="fail">FAILED</span>'}</h1>
<table>${rows.map(([k, v]) => `<tr><td>${escape(k)}</td><td>${escape(v)}</td></tr>`).join('')}</table>
<ul>${thresholds}</ul>
${charts.map((chart) => lineChart(chart, result.timeline)).join('\n')}
${result.replay ? replayCharts(result.replay, lineChart) : ''}
</body></html>
`;
}
