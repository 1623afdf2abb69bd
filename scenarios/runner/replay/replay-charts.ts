import type { ReplayResult } from '../../lib/replay/replay-fidelity.ts';
import type { TimelinePoint } from '../../lib/results.ts';
import type { lineChart } from '../html-report.ts';

// The replay's fidelity on the run's page: per room, messages per second as recorded (scaled) and
// as sent, so a person sees at a glance that the traffic's shape was reproduced.

type BucketPoint = TimelinePoint & { recorded: number; sent: number };

/** `chart` is html-report's lineChart, passed in so the two modules do not import each other. */
export function replayCharts(r: ReplayResult, chart: typeof lineChart): string {
  const charts = r.rooms.map((room) => {
    const points: BucketPoint[] = room.recordedPerSecond.map((recorded, k) => ({
      t: k * r.bucketSeconds,
      viewers: 0,
      target: 0,
      sentPerSecond: 0,
      deliveriesPerSecond: 0,
      p99Ms: 0,
      generatorCpuPercent: 0,
      recorded,
      sent: room.sentPerSecond[k] ?? 0,
    }));
    return chart(
      {
        title: `Replay of room ${room.name}: ${room.sent}/${room.recorded} messages at ${r.speed}x`,
        unit: `messages per second, ${r.bucketSeconds} s buckets from the first recorded moment`,
        series: [
          { label: 'recorded', color: '#9ca3af', values: (p) => (p as BucketPoint).recorded, dashed: true },
          { label: 'sent', color: '#d97706', values: (p) => (p as BucketPoint).sent },
        ],
      },
      points,
    );
  });
  const d = r.driftMs;
  return `<p>Replay of ${r.source} at ${r.speed}x: schedule drift p50 ${d.p50.toFixed(1)} ms · p99 ${d.p99.toFixed(1)} ms · max ${d.max.toFixed(1)} ms over ${d.count} sends.</p>\n${charts.join('\n')}`;
}
