import type { ProfileInput } from '../lib/profile.ts';

/**
 * Messages/s per chatter when the runner reads in counting mode (--receive count). At the
 * profile's 2 msg/s the last step asks 320,000 deliveries/s, under one chatstorm core's limit
 * (over a million): counting mode's steps go to 1.28 M/s (+160,000 per step) so they cross it.
 */
export const COUNTING_RATE = 8;

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
