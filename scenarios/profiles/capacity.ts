import type { ProfileInput } from '../lib/profile.ts';

export default {
  name: 'capacity',
  description:
    'A stepped ramp to find where the server breaks: one room with 10 chatters at 2 msg/s each, 2,000 more viewers every 10 s up to 16,000, stopping at the first step whose p99 exceeds 100 ms or that loses a message.',
  duration: '80s',
  steps: 8,
  drain: '3s',
  viewers: 16000,
  rooms: 1,
  chattersPerRoom: 10,
  rate: 2,
  messageBytes: 64,
  capacity: { p99: '100ms', loss: 0, stopOnBreak: true },
  // The point is to break: the run passes as long as what was delivered was delivered correctly.
  thresholds: ['duplicates == 0', 'outOfOrder == 0'],
} satisfies ProfileInput;
