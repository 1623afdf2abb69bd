import { parseArgs } from 'node:util';
import { z } from 'zod';
import { parseDurationMs } from '../lib/duration.ts';
import { receiveMode } from './args.ts';
import type { SweepGrid } from './capacity-sweep.ts';

// `npm run capacity`'s command line. Defaults fit this 2-core machine in about five minutes;
// --quick is CI-sized (well under a minute).

export const CAPACITY_USAGE = `Usage: npm run capacity -- [options]

  --url URL             an IVS-Chat-compatible server (http://host:port); default: start chatstorm here
  --viewers LIST        audience sizes to step through, e.g. 250,500,1000   (default 1000,4000)
  --rate LIST           messages/s per room                                  (default 10,100)
  --rooms LIST          rooms the audience is split over                     (default 1,20)
                        The steps are every viewers × rate × rooms, in order of deliveries/s
  --chatters N          senders per room (default 5); the room's rate is split among them
  --message-bytes N     (default 64)
  --p99 D               SLO: delivery p99 (default 250ms)
  --loss X              SLO: missing / expected, e.g. 0 or 0.1% (default 0)
  --server-cpu N        SLO: the server's CPU in % of one core (default 90)
  --ramp D              each step's ramp (default 3s)
  --hold D              each step's longest hold after the ramp (default 16s); it ends sooner once settled
  --window D            a window of the hold (default 2s)   --windows N   settled windows per step (default 3)
  --storm N             viewers of the connection storm, 0 for none (default 2000)   --storm-waves N (default 2)
  --token-rounds N      CreateChatToken storm rounds, 0 for none (default 2)   --token-round D (default 1500ms)
  --bus FILE            npm run bench:bus's JSON: adds the Redis bus's per-message cost to the model
  --model FILE          the capacity model (default results/capacity-model.json)
  --out FILE            the sweep's results JSON (default results/capacity-sweep-<time>.json)
  --workers N           generator worker threads (default: the cores left to the generator)
  --transport ws|raw    the generator's WebSocket client (default raw: cheaper, so the server is the limit sooner)
  --receive count|decode  the generator's receive mode. count (default with raw): MESSAGE frames counted
                        from the framing (loss and duplicates exact by count), 1 in N decoded for latency
                        and order, so the generator reaches further; decode: every frame parsed
  --decode-every N      with --receive count (default 16)
  --quick               CI-sized: viewers 100,200, rate 5, 1 s windows, small storms
  --no-pin              do not pin server and generator to separate cores
  --no-progress         no live line
  --help`;

export class CapacityUsageError extends Error {}

/** --receive/--decode-every: the runner's own check (args.ts), with counting the default where it can run. */
function receiveFlags(receive: string | undefined, decodeEvery: string | undefined, transport: 'ws' | 'raw'): { decodeEvery?: number } {
  if (receive !== undefined && receive !== 'decode' && receive !== 'count') throw new CapacityUsageError(`--receive ${receive}: decode or count`);
  const n = decodeEvery === undefined ? undefined : Number(decodeEvery);
  if (n !== undefined && (!Number.isInteger(n) || n < 1)) throw new CapacityUsageError(`--decode-every ${decodeEvery}: a whole number ≥ 1`);
  // Counting costs the generator less per delivery, so the sweep gets nearer the server's limit
  // before the generator's (issue 8).
  const mode = receiveMode(receive ?? (transport === 'raw' ? 'count' : 'decode'), n, transport);
  if ('problem' in mode) throw new CapacityUsageError(mode.problem);
  return mode;
}

export interface CapacityCli {
  url?: string;
  grid: SweepGrid;
  chattersPerRoom: number;
  messageBytes: number;
  p99Ms: number;
  loss: number;
  serverCpuPercent: number;
  rampMs: number;
  holdMs: number;
  windowMs: number;
  windows: number;
  stormViewers: number;
  stormWaves: number;
  tokenRounds: number;
  tokenRoundMs: number;
  bus?: string;
  model: string;
  out?: string;
  workers?: number;
  transport: 'ws' | 'raw';
  /** --receive count: decode 1 MESSAGE frame in N; absent: every frame decoded. */
  decodeEvery?: number;
  pin: boolean;
  progress: boolean;
  help: boolean;
}

const duration = (flag: string) =>
  z.string().transform((text, ctx) => {
    try {
      return parseDurationMs(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `--${flag} ${text}: not a duration (e.g. 250ms, 2s)` });
      return z.NEVER;
    }
  });
const list = (flag: string) =>
  z.string().transform((text, ctx) => {
    const values = text.split(',').map((x) => Number(x.trim()));
    if (values.length === 0 || values.some((v) => !Number.isFinite(v) || v <= 0)) {
      ctx.addIssue({ code: 'custom', message: `--${flag} ${text}: a comma-separated list of positive numbers` });
      return z.NEVER;
    }
    return values;
  });
const int = (flag: string, min: number) => z.coerce.number().int(`--${flag}: a whole number`).min(min, `--${flag}: at least ${min}`);
const ratio = z.string().transform((text, ctx) => {
  const m = /^(\d+(?:\.\d+)?)(%)?$/.exec(text.trim());
  const value = m ? Number(m[1]) / (m[2] ? 100 : 1) : NaN;
  if (!(value >= 0 && value <= 1)) {
    ctx.addIssue({ code: 'custom', message: `--loss ${text}: a ratio from 0 to 1, or a percentage (0.1%)` });
    return z.NEVER;
  }
  return value;
});

const DEFAULTS = { viewers: '1000,4000', rate: '10,100', rooms: '1,20', window: '2s', windows: '3', ramp: '3s', hold: '16s', storm: '2000', 'token-rounds': '2', 'token-round': '1500ms' };
const QUICK = { viewers: '100,200', rate: '5', rooms: '1', window: '1s', windows: '2', ramp: '1s', hold: '5s', storm: '200', 'token-rounds': '2', 'token-round': '500ms' };

export function parseCapacityCli(argv: string[]): CapacityCli {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      options: {
        url: { type: 'string' },
        viewers: { type: 'string' },
        rate: { type: 'string' },
        rooms: { type: 'string' },
        chatters: { type: 'string', default: '5' },
        'message-bytes': { type: 'string', default: '64' },
        p99: { type: 'string', default: '250ms' },
        loss: { type: 'string', default: '0' },
        'server-cpu': { type: 'string', default: '90' },
        ramp: { type: 'string' },
        hold: { type: 'string' },
        window: { type: 'string' },
        windows: { type: 'string' },
        storm: { type: 'string' },
        'storm-waves': { type: 'string', default: '2' },
        'token-rounds': { type: 'string' },
        'token-round': { type: 'string' },
        bus: { type: 'string' },
        model: { type: 'string', default: 'results/capacity-model.json' },
        out: { type: 'string' },
        workers: { type: 'string' },
        transport: { type: 'string', default: 'raw' },
        receive: { type: 'string' },
        'decode-every': { type: 'string' },
        quick: { type: 'boolean', default: false },
        'no-pin': { type: 'boolean', default: false },
        'no-progress': { type: 'boolean', default: false },
        help: { type: 'boolean', default: false },
      },
    }));
  } catch (error) {
    throw new CapacityUsageError((error as Error).message);
  }
  const preset = values.quick ? QUICK : DEFAULTS;
  const pick = (key: keyof typeof DEFAULTS) => (values[key] as string | undefined) ?? preset[key];
  const schema = z.object({
    viewers: list('viewers').refine((v) => v.every(Number.isInteger), '--viewers: whole numbers'),
    rate: list('rate'),
    rooms: list('rooms').refine((v) => v.every(Number.isInteger), '--rooms: whole numbers'),
    chatters: int('chatters', 1),
    messageBytes: int('message-bytes', 1),
    p99: duration('p99').refine((ms) => ms > 0, '--p99: above zero'),
    loss: ratio,
    serverCpu: z.coerce.number().positive('--server-cpu: a percentage above 0'),
    ramp: duration('ramp'),
    hold: duration('hold'),
    window: duration('window').refine((ms) => ms >= 250, '--window: at least 250ms'),
    windows: int('windows', 2),
    storm: int('storm', 0),
    stormWaves: int('storm-waves', 1),
    tokenRounds: int('token-rounds', 0),
    tokenRound: duration('token-round'),
    workers: int('workers', 1).optional(),
    transport: z.enum(['ws', 'raw'], { message: '--transport: ws or raw' }),
  });
  const parsed = schema.safeParse({
    viewers: pick('viewers'),
    rate: pick('rate'),
    rooms: pick('rooms'),
    chatters: values.chatters,
    messageBytes: values['message-bytes'],
    p99: values.p99,
    loss: values.loss,
    serverCpu: values['server-cpu'],
    ramp: pick('ramp'),
    hold: pick('hold'),
    window: pick('window'),
    windows: pick('windows'),
    storm: pick('storm'),
    stormWaves: values['storm-waves'],
    tokenRounds: pick('token-rounds'),
    tokenRound: pick('token-round'),
    workers: values.workers,
    transport: values.transport,
  });
  if (!parsed.success) throw new CapacityUsageError(parsed.error.issues.map((i) => i.message).join('\n'));
  const p = parsed.data;
  if (p.hold < p.window * (p.windows + 1)) {
    throw new CapacityUsageError(`--hold ${p.hold} ms is too short for ${p.windows} settled windows of ${p.window} ms after the first: at least ${p.window * (p.windows + 1)} ms`);
  }
  if (p.viewers.every((v) => p.rooms.every((r) => r > v))) throw new CapacityUsageError('--rooms: every step has more rooms than viewers');
  return {
    ...(values.url ? { url: values.url as string } : {}),
    grid: { viewers: p.viewers, rates: p.rate, rooms: p.rooms },
    chattersPerRoom: p.chatters,
    messageBytes: p.messageBytes,
    p99Ms: p.p99,
    loss: p.loss,
    serverCpuPercent: p.serverCpu,
    rampMs: p.ramp,
    holdMs: p.hold,
    windowMs: p.window,
    windows: p.windows,
    stormViewers: p.storm,
    stormWaves: p.stormWaves,
    tokenRounds: p.tokenRounds,
    tokenRoundMs: p.tokenRound,
    ...(values.bus ? { bus: values.bus as string } : {}),
    model: values.model as string,
    ...(values.out ? { out: values.out as string } : {}),
    ...(p.workers !== undefined ? { workers: p.workers } : {}),
    transport: p.transport,
    ...receiveFlags(values.receive as string | undefined, values['decode-every'] as string | undefined, p.transport),
    pin: !values['no-pin'],
    progress: !values['no-progress'],
    help: Boolean(values.help),
  };
}
