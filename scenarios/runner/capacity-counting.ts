import type { Profile } from '../lib/profile.ts';
import { COUNTING_RATE, COUNTING_SHAPE } from '../profiles/capacity.ts';

// What `npm run bench -- --profile capacity --receive count` runs: counting mode's own capacity
// shape, field by field, except where the user's flags (--viewers, --rate, --set stepBy=…) say
// otherwise.

export interface CountingCapacity {
  overrides: Record<string, unknown>;
  /** The line the runner prints once the profile is resolved. */
  note(profile: Profile): string;
}

export function countingCapacity(userOverrides: Readonly<Record<string, unknown>>): CountingCapacity {
  const overrides = { ...userOverrides };
  if (overrides.stepBy === 'viewers') {
    // The audience steps, asked for: only their rate is raised, as before rate steps existed.
    const given = overrides.rate !== undefined;
    if (!given) overrides.rate = COUNTING_RATE;
    return {
      overrides,
      note: (p) => `capacity in counting mode: steps by viewers (as given), up to ${p.viewers} viewers, ${p.rate} msg/s per chatter${given ? '' : ' so the steps reach the server’s limit (--rate overrides)'}`,
    };
  }
  const filled: string[] = [];
  for (const field of ['stepBy', 'viewers', 'rate'] as const) {
    if (overrides[field] === undefined) {
      overrides[field] = COUNTING_SHAPE[field];
      filled.push(field === 'stepBy' ? 'stepBy rate' : `--${field}`);
    }
  }
  return {
    overrides,
    note: (p) =>
      `capacity in counting mode: steps by message rate, ${p.viewers} viewers in ${p.rooms} room(s) joining in the first ${p.rampUp}, ` +
      `${p.chattersPerRoom} chatter(s) per room at ${p.rate}/${p.steps} × step msg/s each, ${p.chattersPerRoom * p.rate} msg/s per room at step ${p.steps}` +
      (filled.length ? ` (counting mode’s shape set ${filled.join(', ')}; give --viewers, --rate or --set stepBy=viewers to choose)` : ''),
  };
}
