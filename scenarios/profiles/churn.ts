import type { ProfileInput } from '../lib/profile.ts';

export default {
  name: 'churn',
  description:
    'Join and leave storms: 2,000 viewers in 10 rooms, 2 % leaving and rejoining every second, then half and then most of the audience dropping at once and rejoining together, each time with a fresh token.',
  duration: '45s',
  rampUp: '8s',
  drain: '3s',
  viewers: 2000,
  rooms: 10,
  chattersPerRoom: 3,
  rate: 2,
  messageBytes: 64,
  churn: {
    leavePerSecond: 0.02,
    rejoinDelay: '1s',
    storms: [
      { at: '18s', leave: 0.5 },
      { at: '30s', leave: 0.9 },
    ],
  },
  thresholds: ['loss == 0', 'duplicates == 0', 'outOfOrder == 0', 'connectErrors == 0', 'p99 < 250ms'],
} satisfies ProfileInput;
