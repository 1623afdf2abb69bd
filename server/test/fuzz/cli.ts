import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { FuzzFailure } from './check.ts';
import { checkSlowloris, fuzzHttp, fuzzQuotaBursts, openHttpFuzzEnv } from './http-fuzz.ts';
import { ALL_KNOWN_DEFECTS, type KnownDefect } from './known-defects.ts';
import { abbreviate, FuzzStats } from './stats.ts';
import { startFuzzTarget, type FuzzTarget } from './target.ts';
import { closeWsFuzzEnv, fuzzWebSocket, openWsFuzzEnv, WS_TARGET_ARGS } from './ws-fuzz.ts';

// `npm run fuzz`: the long fuzzing run against real server processes. Prints progress (inputs per
// class, per second), a summary (inputs per class, crashes, RSS before and after), and writes the
// same as JSON. A failure prints its seed, path and shrunk input, and the command to replay it.

const USAGE = `Usage: npm run fuzz -- [options]

  --runs N          inputs per side (WebSocket cases, HTTP requests) [20000]
  --seed S          fast-check seed (printed by every run; replays the same inputs)
  --path P          with --seed: replay one counterexample (printed with a failure)
  --only SIDE       ws | http | http-requests | http-bursts (http is both)
  --bound-ms N      how long any one answer may take [3000]
  --skip-known      leave out the input classes of known defects, as npm test does
  --no-shrink       report the first failing input as it is (faster)
  --verbose         print every input tried (long values cut)
  --out FILE        results file [results/fuzz-<time>.json]
  --help`;

const Options = z.object({
  runs: z.coerce.number().int().positive().default(20_000),
  seed: z.coerce.number().int().optional(),
  path: z.string().optional(),
  only: z.enum(['ws', 'http', 'http-requests', 'http-bursts']).optional(),
  boundMs: z.coerce.number().int().positive().default(3000),
  skipKnown: z.boolean().default(false),
  shrink: z.boolean().default(true),
  out: z.string().optional(),
  verbose: z.boolean().default(false),
});

function parseOptions() {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string' },
      seed: { type: 'string' },
      path: { type: 'string' },
      only: { type: 'string' },
      'bound-ms': { type: 'string' },
      'skip-known': { type: 'boolean' },
      'no-shrink': { type: 'boolean' },
      out: { type: 'string' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const parsed = Options.safeParse({
    runs: values.runs,
    seed: values.seed,
    path: values.path,
    only: values.only,
    boundMs: values['bound-ms'],
    skipKnown: values['skip-known'],
    shrink: values['no-shrink'] ? false : undefined,
    out: values.out,
    verbose: values.verbose,
  });
  if (!parsed.success) {
    console.error(`${parsed.error.issues.map((i) => `--${String(i.path[0])}: ${i.message}`).join('\n')}\n\n${USAGE}`);
    process.exit(2);
  }
  return parsed.data;
}

let verbose = false;
function tried(side: string, input: unknown): void {
  if (verbose) console.log(`[${side}] ${JSON.stringify(abbreviate(input))}`);
}

const mib = (bytes: number) => `${(bytes / 1048576).toFixed(1)} MiB`;

function progress(side: string, stats: FuzzStats, done: () => number, total: number): () => void {
  let last = 0;
  let lastAt = Date.now();
  const timer = setInterval(() => {
    const now = Date.now();
    const n = done();
    const rate = ((n - last) * 1000) / (now - lastAt);
    last = n;
    lastAt = now;
    const classes = [...stats.classes]
      .filter(([k]) => !k.startsWith('op:') && !k.startsWith('ws-case'))
      .sort((a, b) => b[1] - a[1])
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    console.log(`[${side}] ${n}/${total} inputs, ${rate.toFixed(0)}/s | ${classes}`);
  }, 2000);
  return () => clearInterval(timer);
}

interface SideResult {
  side: 'ws' | 'http';
  seed: number;
  passed: boolean;
  failure?: string;
  stats: ReturnType<FuzzStats['toJSON']>;
  rssBeforeBytes: number;
  rssAfterBytes: number;
  serverExit: string | undefined;
  livenessRounds: number;
  slowloris?: string[];
}

async function runWs(options: z.infer<typeof Options>, seed: number): Promise<SideResult> {
  const target = await startFuzzTarget(WS_TARGET_ARGS);
  const stats = new FuzzStats();
  try {
    const env = await openWsFuzzEnv(target, stats);
    const rssBefore = await target.rssBytes();
    let n = 0;
    const stop = progress('ws', stats, () => n, options.runs);
    let failure: string | undefined;
    try {
      await fuzzWebSocket(env, { runs: options.runs, seed, path: options.path, boundMs: options.boundMs, livenessEvery: 50, shrink: options.shrink, onCase: (c) => (n++, tried('ws', c)) });
    } catch (error) {
      failure = error instanceof FuzzFailure ? error.message : String((error as Error).stack ?? error);
    } finally {
      stop();
    }
    const serverExit = target.exitStatus();
    const result: SideResult = {
      side: 'ws',
      seed,
      passed: failure === undefined,
      failure,
      stats: stats.toJSON(),
      rssBeforeBytes: rssBefore,
      rssAfterBytes: serverExit ? 0 : await target.rssBytes(),
      serverExit,
      livenessRounds: env.liveness.rounds,
    };
    await closeWsFuzzEnv(env);
    return result;
  } finally {
    await target.stop();
  }
}

async function runHttp(options: z.infer<typeof Options>, seed: number, skip: ReadonlySet<KnownDefect>): Promise<SideResult> {
  const targets: FuzzTarget[] = [];
  const stats = new FuzzStats();
  try {
    const open = await startFuzzTarget(['--api-quotas', 'off']);
    targets.push(open);
    const quota = await startFuzzTarget([]);
    targets.push(quota);
    const env = await openHttpFuzzEnv(open, quota, stats);
    const rssBefore = await open.rssBytes();
    // Slow senders take tens of seconds: they run beside the rest, on the quota target.
    const slowloris = options.only === 'http' || options.only === undefined ? checkSlowloris(quota, 20_000) : Promise.resolve(undefined);
    let n = 0;
    const stop = progress('http', stats, () => n, options.runs);
    const failures: string[] = [];
    const fuzzOptions = { runs: options.runs, seed, path: options.path, boundMs: options.boundMs, livenessEvery: 50, shrink: options.shrink, skip, onCase: (c: unknown) => (n++, tried('http', c)) };
    const properties = [
      ['http-requests', fuzzHttp],
      ['http-bursts', fuzzQuotaBursts],
    ] as const;
    for (const [name, run] of properties) {
      if (options.only !== undefined && options.only !== 'http' && options.only !== name) continue;
      try {
        await run(env, fuzzOptions);
      } catch (error) {
        failures.push(error instanceof FuzzFailure ? error.message : String((error as Error).stack ?? error));
      }
    }
    stop();
    const slow = await slowloris;
    if (slow && slow.length > 0) failures.push(`slow senders were not cut off:\n  ${slow.join('\n  ')}`);
    const serverExit = open.exitStatus() ?? quota.exitStatus();
    const result: SideResult = {
      side: 'http',
      seed,
      passed: failures.length === 0,
      failure: failures.length > 0 ? failures.join('\n\n') : undefined,
      stats: stats.toJSON(),
      rssBeforeBytes: rssBefore,
      rssAfterBytes: open.exitStatus() ? 0 : await open.rssBytes(),
      serverExit,
      livenessRounds: env.liveness.rounds,
      slowloris: slow,
    };
    env.liveness.close();
    return result;
  } finally {
    await Promise.all(targets.map((t) => t.stop()));
  }
}

function printSummary(result: SideResult): void {
  const s = result.stats;
  console.log(`\n== ${result.side}: ${result.passed ? 'PASSED' : 'FAILED'} (seed ${result.seed}) ==`);
  console.log(`  ${result.side === 'ws' ? `${s.classes['ws-case'] ?? 0} cases, ${s.frames} frames` : `${s.requests} requests`} in ${s.seconds.toFixed(1)} s`);
  console.log(`  inputs per class: ${Object.entries(s.classes).filter(([k]) => !k.startsWith('op:') && k !== 'ws-case').map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  outcomes: ${Object.entries(s.outcomes).map(([k, v]) => `${k} ${v}`).join(', ')}`);
  console.log(`  crashes: ${result.serverExit ? `1 (${result.serverExit})` : 0}; liveness rounds passed: ${result.livenessRounds}`);
  console.log(`  server RSS: ${mib(result.rssBeforeBytes)} before, ${mib(result.rssAfterBytes)} after`);
  if (result.failure) console.log(`\n${result.failure}`);
}

const options = parseOptions();
verbose = options.verbose;
const skip = new Set<KnownDefect>(options.skipKnown ? ALL_KNOWN_DEFECTS : []);
const seed = options.seed ?? (Date.now() ^ (Math.random() * 0x100000000)) | 0;
console.log(`chatstorm fuzz: seed ${seed}, ${options.runs} inputs per side, bound ${options.boundMs} ms, known defects ${options.skipKnown ? 'left out' : 'included'}`);
const results: SideResult[] = [];
if (options.only === undefined || options.only === 'ws') results.push(await runWs(options, seed));
if (options.only === undefined || options.only.startsWith('http')) results.push(await runHttp(options, seed, skip));
for (const result of results) printSummary(result);

const out = options.out ?? `results/fuzz-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
await mkdir(dirname(out), { recursive: true });
await writeFile(out, JSON.stringify({ seed, runs: options.runs, boundMs: options.boundMs, knownDefectsIncluded: !options.skipKnown, results }, null, 2));
console.log(`\nresults: ${out}`);
process.exit(results.every((r) => r.passed) ? 0 : 1);
