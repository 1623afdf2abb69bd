import { parseDurationMs } from '../lib/duration.ts';
import type { Profile } from '../lib/profile.ts';
import { parseReplayLog, roomOfPath } from '../lib/replay/replay-log.ts';
import { replayProfile } from '../lib/replay/replay-plan.ts';
import { buildReplayScript, type ReplayScript } from '../lib/replay/replay-script.ts';

// The k6 side of --replay: the log is read with k6's open() in the init context, as plain JSON
// lines (k6 has no gunzip: decompress S3 objects and CloudWatch exports first). CHATSTORM_REPLAY
// names one file or several, comma-separated (absolute paths: k6 resolves relative ones against
// the script); CHATSTORM_REPLAY_ROOM names the room of a single file whose name does not say.
// Options come from the profile's `replay` field, set with CHATSTORM_SET ("replay.speed=10").

declare function open(path: string): string;

export function loadK6Replay(profile: Profile): { profile: Profile; script: ReplayScript } | undefined {
  const paths = (__ENV.CHATSTORM_REPLAY ?? profile.replay?.path ?? '')
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p !== '');
  if (paths.length === 0) {
    if (profile.name === 'replay') throw new Error('the replay script needs CHATSTORM_REPLAY=<log file>[,<log file>…]');
    return undefined;
  }
  const room = __ENV.CHATSTORM_REPLAY_ROOM ?? profile.replay?.room;
  const log = parseReplayLog(paths.map((path) => ({ room: room ?? roomOfPath(path), text: open(path) })));
  const policy = profile.replay;
  const script = buildReplayScript(log, {
    speed: policy?.speed ?? 1,
    keepContent: policy?.keepContent ?? false,
    ...(policy?.viewers !== undefined ? { viewers: policy.viewers } : {}),
    ...(policy?.viewersPerRoom !== undefined ? { viewersPerRoom: policy.viewersPerRoom } : {}),
    // k6 starts the load 3 s after setup; the first recorded moment comes a second after the ramp.
    leadInMs: parseDurationMs(profile.rampUp) + 1000,
  });
  return { profile: replayProfile({ ...profile, replay: { ...policy, path: paths.join(','), speed: policy?.speed ?? 1 } }, script), script };
}
