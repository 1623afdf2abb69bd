import { parseArgs, type ParseArgsConfig } from 'node:util';
import { z } from 'zod';
import { parseDurationMs } from '../lib/duration.ts';
import { setField } from '../lib/profile.ts';

// The runner's command line (the contract in TEAM.md). Profile fields have their own flags for
// the common ones, and --set reaches any field: --set churn.leavePerSecond=0.05.

export const USAGE = `Usage: npm run bench -- [options]

  --profile NAME        smoke | fanout | soak | churn | moderation | capacity | mixed   (default fanout)
  --url URL             an IVS-Chat-compatible server (http://host:port); default: start chatstorm here
  --aws-region REGION   real Amazon IVS Chat (credentials from the AWS environment); with --url, that
                        endpoint signed with SigV4
                        Repeat --url (or give them comma-separated) to spread viewers over several
                        nodes: viewer i joins node i mod n; the control plane is the first URL; the
                        summary shows each node's deliveries and latency
  --shard I/N           hold only shard I of N (1-based) of the profile's viewers: viewers i with
                        i mod N = I-1, like worker threads; every shard needs the same --run-id,
                        profile and flags. Shard 1 creates the rooms, the others find them by name.
                        Merge the shards' files with npm run bench:merge
  --run-id ID           names the run's rooms (chatstorm-<profile>-<ID>-<r>); required with --shard
  --ws-url URL          the chat WebSocket (ws:// or wss://) when it is not the ws:// of --url, e.g. a
                        proxy in front of the same server; the control plane stays on --url
  --viewers N           --rooms N   --chatters N (per room)   --rate N (messages/s per chatter)
  --duration D          load phase, e.g. 30s, 2m   --ramp-up D   --drain D   --steps N
  --message-bytes N     --connect-rate N (connections/s, 0 = unlimited)   --hot-room-share X
  --set PATH=VALUE      any profile field, e.g. --set churn.leavePerSecond=0.05 (repeatable)
  --threshold EXPR      replaces the profile's thresholds, e.g. --threshold "p99 < 50ms" (repeatable)
  --audit               after the run, check the server's chat log: every acknowledged message logged
                        exactly once, in order, refused ones absent, moderation events logged; a
                        mismatch fails the run (embedded server, or --url with --audit-log-dir)
  --audit-log-dir DIR   with --url: that server's data dir (or its logs/ directory), readable here
  --out FILE            results file (default results/<scenario>-<time>.json)
  --baseline FILE       compare with an earlier results JSON of the same profile (repeat the flag for
                        repeats of it: their spread is the noise); a figure significantly worse by
                        more than the tolerance fails the run (exit 1)
  --tolerance P         how much worse a figure may be before it is a regression, e.g. 10% [10%]
  --metrics-port N      serve the runner's Prometheus metrics on 127.0.0.1:N/metrics (0 = any port)
  --workers N           worker threads holding viewers (default: the cores left to the generator)
  --transport ws|raw    WebSocket client: ws (default) or a bare-socket client that reads batched
                        frames ~3x cheaper (ws:// targets only)
  --receive decode|count
                        decode (default): every frame decoded. count (needs --transport raw): plain
                        viewers count MESSAGE frames and bytes from the WebSocket framing and decode
                        only every Nth (latency, order); loss and duplicates stay exact by count per
                        connection. For throughput runs where the generator must outrun the server
    --decode-every N    with --receive count: decode 1 MESSAGE frame in N (default 16)
  --replay PATH         replay a recorded chat log (IVS Chat logging records: a file, a directory, .gz
                        S3 objects, a CloudWatch Logs export) as the load; see scenarios/README.md
    --speed X           recorded times divided by X (default 1)   --keep-content (default: anonymised)
    --viewers N         audience across all rooms   --viewers-per-room N (default 10)
    --room ID           the room of a single file whose name does not say
  --no-pin              do not pin server and generator to separate cores
  --no-progress         no live line
  --list                list the profiles
  --help`;

export interface CliOptions {
  profile: string;
  url?: string;
  /** Every --url given (several: viewers spread over them); url is the first. */
  urls?: string[];
  shard?: { index: number; count: number };
  runId?: string;
  /** The chat WebSocket, when it is not derived from the target's URL. */
  wsUrl?: string;
  awsRegion?: string;
  overrides: Record<string, unknown>;
  thresholds?: string[];
  audit: boolean;
  auditLogDir?: string;
  out?: string;
  baseline?: string[];
  tolerancePercent?: number;
  metricsPort?: number;
  workers?: number;
  transport: 'ws' | 'raw';
  /** --receive count: decode every Nth MESSAGE frame (plain viewers); absent: full decode. */
  decodeEvery?: number;
  pin: boolean;
  progress: boolean;
  list: boolean;
  help: boolean;
}

const positiveInt = z.coerce.number().int().positive();
const nonNegative = z.coerce.number().nonnegative();
const durationText = z.string().refine(
  (t) => {
    try {
      return parseDurationMs(t) >= 0;
    } catch {
      return false;
    }
  },
  { message: 'a duration such as 500ms, 30s, 2m' },
);

// Flag → profile field, with how to read the value.
const PROFILE_FLAGS = {
  viewers: ['viewers', positiveInt],
  rooms: ['rooms', positiveInt],
  chatters: ['chattersPerRoom', z.coerce.number().int().nonnegative()],
  rate: ['rate', nonNegative],
  duration: ['duration', durationText],
  'ramp-up': ['rampUp', durationText],
  drain: ['drain', durationText],
  steps: ['steps', z.coerce.number().int().nonnegative()],
  'message-bytes': ['messageBytes', positiveInt],
  'connect-rate': ['connectRate', nonNegative],
  'hot-room-share': ['hotRoomShare', z.coerce.number().min(0).max(1)],
} as const;

export class UsageError extends Error {}

/** MESSAGE frames decoded in counting mode when --decode-every is not given: 1 in 16. */
export const DEFAULT_DECODE_EVERY = 16;

/**
 * --receive and --decode-every against the transport (npm run bench and npm run capacity): how
 * often a MESSAGE frame is decoded (absent: every frame, the full decode), or why they do not fit.
 */
export function receiveMode(receive: 'decode' | 'count', decodeEvery: number | undefined, transport: 'ws' | 'raw'): { decodeEvery?: number } | { problem: string } {
  if (receive === 'count' && transport !== 'raw') return { problem: '--receive count reads the WebSocket framing itself: it needs --transport raw' };
  if (decodeEvery !== undefined && receive !== 'count') return { problem: '--decode-every N goes with --receive count' };
  return receive === 'count' ? { decodeEvery: decodeEvery ?? DEFAULT_DECODE_EVERY } : {};
}

export function parseCli(argv: string[]): CliOptions {
  const options: NonNullable<ParseArgsConfig['options']> = {
    profile: { type: 'string' },
    url: { type: 'string', multiple: true },
    shard: { type: 'string' },
    'run-id': { type: 'string' },
    'ws-url': { type: 'string' },
    'aws-region': { type: 'string' },
    set: { type: 'string', multiple: true },
    threshold: { type: 'string', multiple: true },
    out: { type: 'string' },
    baseline: { type: 'string', multiple: true },
    tolerance: { type: 'string' },
    audit: { type: 'boolean' },
    'audit-log-dir': { type: 'string' },
    'metrics-port': { type: 'string' },
    workers: { type: 'string' },
    transport: { type: 'string' },
    receive: { type: 'string' },
    'decode-every': { type: 'string' },
    'no-pin': { type: 'boolean' },
    replay: { type: 'string' },
    speed: { type: 'string' },
    'viewers-per-room': { type: 'string' },
    'keep-content': { type: 'boolean' },
    room: { type: 'string' },
    'no-progress': { type: 'boolean' },
    list: { type: 'boolean' },
    help: { type: 'boolean' },
  };
  for (const flag of Object.keys(PROFILE_FLAGS)) options[flag] = { type: 'string' };
  let values: Record<string, unknown>;
  try {
    ({ values } = parseArgs({ args: argv, options, strict: true, allowPositionals: false }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }

  const read = <T>(flag: string, schema: z.ZodType<T>): T | undefined => {
    const raw = values[flag];
    if (raw === undefined) return undefined;
    const parsed = schema.safeParse(raw);
    if (!parsed.success) throw new UsageError(`--${flag} ${String(raw)}: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
    return parsed.data;
  };

  const overrides: Record<string, unknown> = {};
  for (const [flag, [field, schema]] of Object.entries(PROFILE_FLAGS)) {
    const value = read(flag, schema as z.ZodType<unknown>);
    if (value !== undefined) overrides[field] = value;
  }
  for (const entry of (values.set as string[] | undefined) ?? []) {
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set ${entry}: expected PATH=VALUE`);
    setField(overrides, entry.slice(0, eq).trim(), entry.slice(eq + 1));
  }

  applyReplayFlags(values, overrides, read);

  const urlSchema = z.url({ protocol: /^(https?|wss?)$/ });
  const urls = ((values.url as string[] | undefined) ?? []).flatMap((u) => u.split(',')).map((u) => u.trim()).filter(Boolean);
  for (const u of urls) {
    if (!urlSchema.safeParse(u).success) throw new UsageError(`--url ${u}: an http(s):// or ws(s):// URL`);
  }
  const url = urls[0];
  let shard: { index: number; count: number } | undefined;
  if (values.shard !== undefined) {
    const match = /^(\d+)\/(\d+)$/.exec(String(values.shard));
    const index = match ? Number(match[1]) : NaN;
    const count = match ? Number(match[2]) : NaN;
    if (!match || count < 1 || index < 1 || index > count) throw new UsageError(`--shard ${String(values.shard)}: I/N with 1 ≤ I ≤ N, e.g. 2/4`);
    shard = { index: index - 1, count };
  }
  const runId = read('run-id', z.string().regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ and - (at most 40): it names rooms'));
  if (shard && !runId) throw new UsageError('--shard needs --run-id ID, the same on every shard: the shards find the run’s rooms by it');
  if (shard && urls.length === 0) throw new UsageError('--shard needs --url: the shards must load one server (or cluster), not an embedded one each');
  const transport = read('transport', z.enum(['ws', 'raw'])) ?? 'ws';
  const receive = read('receive', z.enum(['decode', 'count'], { error: 'decode or count' })) ?? 'decode';
  const decodeEvery = read('decode-every', positiveInt);
  const mode = receiveMode(receive, decodeEvery, transport);
  if ('problem' in mode) throw new UsageError(mode.problem);
  if (receive === 'count' && shard) {
    // A shard's ledger lacks the other shards' senders, and a count cannot be split by sender afterwards.
    throw new UsageError('--receive count judges loss by count against every sender’s log: it cannot run as one --shard of several');
  }
  const wsUrl = read('ws-url', z.url({ protocol: /^wss?$/, error: 'a ws:// or wss:// URL' }));
  return {
    profile: (values.profile as string | undefined) ?? (values.replay !== undefined ? 'replay' : 'fanout'),
    ...(url ? { url } : {}),
    ...(urls.length > 1 ? { urls } : {}),
    ...(shard ? { shard } : {}),
    ...(runId ? { runId } : {}),
    ...(wsUrl ? { wsUrl } : {}),
    ...(values['aws-region'] ? { awsRegion: read('aws-region', z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'an AWS region such as us-east-1'))! } : {}),
    overrides,
    ...(values.threshold ? { thresholds: values.threshold as string[] } : {}),
    audit: Boolean(values.audit),
    ...(values['audit-log-dir'] ? { auditLogDir: values['audit-log-dir'] as string } : {}),
    ...(values.out ? { out: values.out as string } : {}),
    ...(values.baseline ? { baseline: values.baseline as string[] } : {}),
    ...(values.tolerance !== undefined
      ? { tolerancePercent: read('tolerance', z.string().trim().regex(/^\d+(\.\d+)?%?$/, 'a percentage such as 10%').transform((t) => Number(t.replace('%', ''))))! }
      : {}),
    ...(values['metrics-port'] !== undefined ? { metricsPort: read('metrics-port', z.coerce.number().int().min(0).max(65535))! } : {}),
    ...(values.workers !== undefined ? { workers: read('workers', positiveInt)! } : {}),
    transport,
    ...mode,
    pin: !values['no-pin'],
    progress: !values['no-progress'],
    list: Boolean(values.list),
    help: Boolean(values.help),
  };
}

/** --replay and its options become the profile's `replay` field; with it, --viewers is the audience. */
function applyReplayFlags(
  values: Record<string, unknown>,
  overrides: Record<string, unknown>,
  read: <T>(flag: string, schema: z.ZodType<T>) => T | undefined,
): void {
  const speed = read('speed', z.coerce.number().positive().max(10_000));
  const perRoom = read('viewers-per-room', z.coerce.number().int().nonnegative());
  const room = read('room', z.string().min(1).max(128));
  const keep = values['keep-content'] === true;
  if (values.replay === undefined) {
    if (speed !== undefined || perRoom !== undefined || room !== undefined || keep) {
      throw new UsageError('--speed, --viewers-per-room, --keep-content and --room go with --replay PATH');
    }
    return;
  }
  const replay: Record<string, unknown> = { ...((overrides.replay as Record<string, unknown> | undefined) ?? {}), path: values.replay };
  replay.speed = speed ?? replay.speed ?? 1;
  if (perRoom !== undefined) replay.viewersPerRoom = perRoom;
  if (room !== undefined) replay.room = room;
  if (keep) replay.keepContent = true;
  if (overrides.viewers !== undefined) {
    replay.viewers = overrides.viewers;
    delete overrides.viewers;
  }
  overrides.replay = replay;
}
