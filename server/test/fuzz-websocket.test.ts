import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { FuzzStats } from './fuzz/stats.ts';
import { startFuzzTarget, type FuzzTarget } from './fuzz/target.ts';
import { closeWsFuzzEnv, fuzzWebSocket, openWsFuzzEnv, WS_TARGET_ARGS, type WsFuzzEnv } from './fuzz/ws-fuzz.ts';

// The short pass of the WebSocket fuzzer (`npm run fuzz` runs the long one). A fixed seed would
// only ever replay the same inputs; each run draws new ones and a failure prints its seed.

const RUNS = Number(process.env.CHATSTORM_FUZZ_RUNS ?? 300);
/** Pins the inputs (e.g. to replay a failure seen in CI); by default each run draws new ones. */
const SEED = process.env.CHATSTORM_FUZZ_SEED === undefined ? undefined : Number(process.env.CHATSTORM_FUZZ_SEED);

describe('WebSocket fuzzing', () => {
  let target: FuzzTarget;
  let env: WsFuzzEnv;
  const stats = new FuzzStats();
  let rssBefore = 0;
  before(async () => {
    target = await startFuzzTarget(WS_TARGET_ARGS);
    env = await openWsFuzzEnv(target, stats);
    rssBefore = await target.rssBytes();
  });
  after(async () => {
    if (env) await closeWsFuzzEnv(env);
    await target?.stop();
  });

  test(`${RUNS} random cases of frames and requests each get the protocol's answer or a clean close, while two good clients keep chatting and the server stays up`, async () => {
    await fuzzWebSocket(env, { runs: RUNS, seed: SEED, boundMs: 5000, livenessEvery: 20, shrink: true });
    assert.equal(target.exitStatus(), undefined, 'the server is still running');
    assert.ok(stats.classes.size >= 8, `inputs of many classes were tried: ${JSON.stringify(stats.toJSON())}`);
    const growth = (await target.rssBytes()) - rssBefore;
    assert.ok(growth < 150 * 1024 * 1024, `RSS grew by ${(growth / 1048576).toFixed(1)} MiB`);
  });
});
