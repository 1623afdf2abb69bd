import type { ProfileInput } from '../lib/profile.ts';

// What `npm run bench -- --replay PATH` runs: the log decides rooms, senders, timing and
// moderation; this only sets the frame around it (a short ramp, a drain) and the verdicts.
export default {
  name: 'replay',
  description: 'A recorded chat log (IVS Chat logging records) replayed as the load, time-scaled by --speed.',
  duration: '10s',
  rampUp: '2s',
  drain: '2s',
  viewers: 1,
  rooms: 1,
  chattersPerRoom: 0,
  rate: 0,
  thresholds: ['loss == 0', 'duplicates == 0', 'outOfOrder == 0', 'connectErrors == 0'],
} satisfies ProfileInput;
