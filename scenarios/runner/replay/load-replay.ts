import { parseDurationMs } from '../../lib/duration.ts';
import type { Profile } from '../../lib/profile.ts';
import { parseReplayLog, type ParsedLog } from '../../lib/replay/replay-log.ts';
import { replayProfile } from '../../lib/replay/replay-plan.ts';
import { buildReplayScript, type ReplayScript } from '../../lib/replay/replay-script.ts';
import { readReplayLog } from './read-replay-log.ts';

export interface LoadedReplay {
  /** The profile as the replay runs it (rooms, audience, duration from the log). */
  profile: Profile;
  script: ReplayScript;
  log: ParsedLog;
  source: string;
}

/** Reads and parses the profile's log and derives the run from it; throws a readable error. */
export function loadReplay(profile: Profile): LoadedReplay {
  const policy = profile.replay!;
  const log = parseReplayLog(readReplayLog(policy.path, policy.room));
  const script = buildReplayScript(log, {
    speed: policy.speed,
    keepContent: policy.keepContent ?? false,
    ...(policy.viewers !== undefined ? { viewers: policy.viewers } : {}),
    ...(policy.viewersPerRoom !== undefined ? { viewersPerRoom: policy.viewersPerRoom } : {}),
    // The audience connects first; the first recorded moment comes a second after the ramp.
    leadInMs: parseDurationMs(profile.rampUp) + 1000,
  });
  return { profile: replayProfile(profile, script), script, log, source: policy.path };
}
