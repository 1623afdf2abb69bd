import type { ProfileInput, StepBy } from '../lib/profile.ts';

/**
 * Counting mode's capacity shape (--receive count, scenarios/README.md "Counting receive mode"):
 * the audience is fixed and the steps raise the message rate, 1,000 msg/s per room at the top
 * (10 chatters × 100), i.e. 250,000 more deliveries/s per step up to 2,000,000/s. Stepping the
 * audience instead (up to 16,000 sockets at a steady rate) gives each socket read one frame, and
 * the generator's cost per read then ends the run at step 1, long before the server's limit; a
 * fixed audience hearing a faster room reads several frames per read.
 */
export const COUNTING_SHAPE: { stepBy: StepBy; viewers: number; rate: number } = { stepBy: 'rate', viewers: 2000, rate: 100 };

/** Messages/s per chatter when counting mode keeps viewer steps (--set stepBy=viewers): 1.28 M deliveries/s at 16,000 viewers. */
export const COUNTING_RATE = 8;

export default {
  name: 'capacity',
  description:
    'A stepped ramp to find where the server breaks: one room with 10 chatters at 2 msg/s each, 2,000 more viewers every 10 s up to 16,000, stopping at the first step whose p99 exceeds 100 ms or that loses a message. ' +
    'In counting mode (--transport raw --receive count) the steps raise the rate instead: 2,000 viewers join in the first 10 s, then 8 steps of 8.75 s run the chatters at 12.5, 25, … 100 msg/s (125 to 1,000 msg/s per room).',
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
