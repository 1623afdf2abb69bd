import type { ProfileInput } from '../lib/profile.ts';

export default {
  name: 'soak',
  description:
    'Many rooms, steady load, long: 3,000 viewers in 50 rooms for 10 minutes with sessions that expire and reconnect; zero loss and a flat server memory line are the point.',
  duration: '10m',
  rampUp: '30s',
  drain: '3s',
  viewers: 3000,
  rooms: 50,
  chattersPerRoom: 3,
  rate: 1,
  messageBytes: 120,
  // Short sessions: every viewer sees ERROR 401 and comes back with a fresh token several times.
  sessionDurationMinutes: 3,
  reconnect: { afterSessionExpiry: true },
  // Every series judged with the default limits (soak-verdict.ts SOAK_LIMITS); the checkpoint
  // each minute leaves a usable report if the soak is killed.
  soak: { checkpointEvery: '1m' },
  thresholds: ['loss == 0', 'duplicates == 0', 'outOfOrder == 0', 'connectErrors == 0', 'p99 < 100ms'],
} satisfies ProfileInput;
