import type { ProfileInput } from '../lib/profile.ts';

export default {
  name: 'smoke',
  description: 'A few seconds, a dozen viewers in two rooms: proves the whole path end to end (CI).',
  duration: '5s',
  rampUp: '1s',
  drain: '1500ms',
  viewers: 12,
  rooms: 2,
  chattersPerRoom: 2,
  rate: 5,
  messageBytes: 32,
  // Correctness only: CI machines are shared, so no latency limit here.
  thresholds: ['loss == 0', 'duplicates == 0', 'outOfOrder == 0', 'errors == 0', 'connectErrors == 0', 'acked == 100%'],
} satisfies ProfileInput;
