import type { ProfileInput } from '../lib/profile.ts';
import capacity from './capacity.ts';
import churn from './churn.ts';
import fanout from './fanout.ts';
import mixed from './mixed.ts';
import moderation from './moderation.ts';
import smoke from './smoke.ts';
import soak from './soak.ts';

export const PROFILES: Record<string, ProfileInput> = { smoke, fanout, soak, churn, moderation, capacity, mixed };
export const DEFAULT_PROFILE = 'fanout';
