import type { ProfileInput } from '../lib/profile.ts';

export default {
  name: 'fanout',
  description:
    'The default run: 5,000 viewers join four rooms over 25 s, most of them in one hot room, while 5 chatters per room talk; delivery rate and latency as the audience grows.',
  duration: '55s',
  rampUp: '25s',
  drain: '3s',
  viewers: 5000,
  rooms: 4,
  hotRoomShare: 0.7,
  chattersPerRoom: 5,
  rate: 2,
  messageBytes: 64,
  thresholds: ['loss == 0', 'duplicates == 0', 'outOfOrder == 0', 'errors < 0.1%', 'p99 < 250ms'],
} satisfies ProfileInput;
