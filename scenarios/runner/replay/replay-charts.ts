import type { ReplayResult } from '../../lib/replay/replay-fidelity.ts';
import type { ChartSpec } from '../html-report.ts';

// The replay's fidelity on the run's page: per room, messages per second as recorded (scaled) and
// as sent, so a person sees at a glance that the traffic's shape was reproduced.

export function replayCharts(r: ReplayResult, idPrefix: string): ChartSpec[] {
  return r.rooms.map((room, k) => ({
    id: `${idPrefix}${k}`,
    title: `Replay of room ${room.name}: ${room.sent}/${room.recorded} messages at ${r.speed}x`,
    unit: `messages per second, ${r.bucketSeconds} s buckets from the first recorded moment`,
    xLabel: 's',
    tables: [[room.recordedPerSecond.map((_, b) => b * r.bucketSeconds), room.recordedPerSecond, room.recordedPerSecond.map((_, b) => room.sentPerSecond[b] ?? 0)]],
    series: [
      { label: 'recorded', color: '#9ca3af', run: 0, dashed: true },
      { label: 'sent', color: '#d97706', run: 0 },
    ],
  }));
}
