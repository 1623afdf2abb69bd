import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { checkSlowloris, fuzzHttp, fuzzQuotaBursts, openHttpFuzzEnv, type HttpFuzzEnv } from './fuzz/http-fuzz.ts';
import { ALL_KNOWN_DEFECTS } from './fuzz/known-defects.ts';
import { FuzzStats } from './fuzz/stats.ts';
import { startFuzzTarget, type FuzzTarget } from './fuzz/target.ts';

// The short pass of the HTTP fuzzer (`npm run fuzz` runs the long one, known defects included).
// It leaves out exactly the input classes of known-defects.ts — a 500 for an over-quota request
// whose identifier String() cannot convert, HTTP/1.0 and malformed heads left unanswered by uWS,
// an oversized body's 400 lost to a reset — until their fixes are merged; delete an entry there to
// switch its class back on.

const RUNS = Number(process.env.CHATSTORM_FUZZ_RUNS ?? 300);
/** Pins the inputs (e.g. to replay a failure seen in CI); by default each run draws new ones. */
const SEED = process.env.CHATSTORM_FUZZ_SEED === undefined ? undefined : Number(process.env.CHATSTORM_FUZZ_SEED);
const skip = new Set(ALL_KNOWN_DEFECTS);

describe('HTTP fuzzing', () => {
  let open: FuzzTarget;
  let quota: FuzzTarget;
  let env: HttpFuzzEnv;
  const stats = new FuzzStats();
  let rssBefore = 0;
  let slowSenders: Promise<string[]>;
  before(async () => {
    open = await startFuzzTarget(['--api-quotas', 'off']);
    quota = await startFuzzTarget([]);
    env = await openHttpFuzzEnv(open, quota, stats);
    rssBefore = await open.rssBytes();
    // They take uWS's idle timeout (~10 s) to be cut: they run while the fuzzing does.
    slowSenders = checkSlowloris(quota, 20_000);
  });
  after(async () => {
    env?.liveness.close();
    await Promise.all([open?.stop(), quota?.stop()]);
  });

  test(`${RUNS} random requests each get a complete AWS-shaped answer (never a 5xx) or, cut short, a close, while two good clients keep chatting`, async () => {
    await fuzzHttp(env, { runs: RUNS, seed: SEED, boundMs: 5000, livenessEvery: 20, shrink: true, skip });
    assert.equal(open.exitStatus(), undefined, 'the server is still running');
    assert.ok(stats.classes.size >= 8, `requests of many classes were tried: ${JSON.stringify(stats.toJSON())}`);
    const growth = (await open.rssBytes()) - rssBefore;
    assert.ok(growth < 150 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
  });

  test('bursts past the real quotas, identifiers of every type in them, get ThrottlingException or a validation error, never a 5xx', async () => {
    await fuzzQuotaBursts(env, { runs: RUNS, seed: SEED, boundMs: 5000, livenessEvery: 20, shrink: true, skip });
    assert.equal(quota.exitStatus(), undefined, 'the server is still running');
    // The random bursts decide by chance how many of their requests validate (only those are
    // charged); one burst of valid ones must meet the quota for certain.
    const arn = env.pool.arns[0]!;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => fetch(`${quota.url}/GetRoom`, { method: 'POST', body: JSON.stringify({ identifier: arn }) })),
    );
    const throttled = answers.filter((r) => r.status === 429 && r.headers.get('x-amzn-errortype')?.startsWith('ThrottlingException'));
    assert.ok(throttled.length > 0, `a burst of 20 valid GetRoom meets the quota: ${answers.map((r) => r.status).join(',')}`);
    assert.ok(answers.every((r) => r.status < 500), 'never a 5xx');
  });

  test('a head and a body trickled a byte every 2 s are cut off by the server within 20 s', async () => {
    assert.deepEqual(await slowSenders, []);
  });
});
