import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { resolveProfile } from '../lib/profile.ts';
import { formatSummary, type RunResult } from '../lib/results.ts';
import { Plan } from '../lib/schedule.ts';
import PROFILE from '../profiles/capacity.ts';
import { countingCapacity } from '../runner/capacity-counting.ts';
import { validateProfile } from '../runner/profile-schema.ts';
import { capacityRun } from './support/report-fixtures.ts';
import { REPO_ROOT, runBench, tempDir } from './support/processes.ts';

// Capacity steps by message rate (profile.stepBy = 'rate'): a fixed audience, the chatters' rate
// raised step by step. The plan's arithmetic, a real stepped run against chatstorm, counting
// mode's default shape, and old results files still reported.

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;

describe('plan for rate steps', () => {
  // A 10 s ramp-up for the audience to join, then 8 steps of 10 s.
  const plan = new Plan(resolveProfile({ name: 't', description: '' }, { viewers: 400, chattersPerRoom: 10, rate: 100, steps: 8, duration: '90s', rampUp: '10s', drain: '3s', stepBy: 'rate' }));

  it('admits the whole audience from the start and keeps it to the end of the drain', () => {
    assert.deepEqual([0, 1, 9_999, 10_000, 89_999, 92_999].map((t) => plan.targetAt(t)), [400, 400, 400, 400, 400, 400]);
    assert.equal(plan.targetAt(93_000), 0);
  });

  it('lets the audience join in a silent ramp-up that belongs to no step, then N equal steps', () => {
    assert.equal(plan.stepMs, 10_000);
    assert.deepEqual([0, 9_999].map((t) => [plan.phaseAt(t), plan.stepAt(t), plan.rateAt(t)]), [['ramp', -1, 0], ['ramp', -1, 0]]);
    assert.deepEqual([10_000, 19_999, 20_000, 89_999].map((t) => plan.stepAt(t)), [0, 0, 1, 7]);
    assert.equal(plan.phaseAt(10_000), 'steady');
  });

  it('runs every chatter at rate × k / N in step k, the profile’s rate at the top step, and nothing after the load phase', () => {
    assert.deepEqual([10_000, 19_999, 20_000, 40_000, 80_000, 89_999].map((t) => plan.rateAt(t)), [12.5, 12.5, 25, 50, 100, 100]);
    assert.deepEqual([90_000, 92_000, 1e9].map((t) => plan.rateAt(t)), [0, 0, 0]);
    assert.deepEqual([0, 3, 7].map((k) => plan.stepRoomRate(k)), [125, 500, 1000]);
    assert.equal(plan.roomRateLimit(1_000_000), 2000, 'CreateRoom is asked for the top step’s rate, with headroom');
  });

  it('keeps viewer steps as they were: the audience rises, the rate stays', () => {
    const viewers = new Plan(resolveProfile(PROFILE));
    assert.equal(viewers.profile.stepBy, 'viewers');
    assert.deepEqual([0, 10_000, 79_999].map((t) => viewers.targetAt(t)), [2000, 4000, 16000]);
    assert.deepEqual([0, 10_000, 79_999].map((t) => viewers.rateAt(t)), [2, 2, 2]);
    assert.deepEqual([0, 7].map((k) => viewers.stepRoomRate(k)), [20, 20]);
  });

  it('refuses an unknown stepBy by name before anything runs', () => {
    assert.throws(() => validateProfile(resolveProfile(PROFILE, { stepBy: 'messages' })), /stepBy/);
  });
});

describe('counting mode’s capacity shape', () => {
  it('steps the rate over 2,000 viewers up to 100 msg/s per chatter unless the flags say otherwise', () => {
    const plain = countingCapacity({});
    const p = validateProfile(resolveProfile(PROFILE, plain.overrides));
    assert.deepEqual([p.stepBy, p.viewers, p.rooms, p.chattersPerRoom, p.rate, p.steps], ['rate', 2000, 1, 10, 100, 8]);
    const plan = new Plan(p);
    // 2,000 deliveries/s per msg/s of the room: 250,000 more per step, 2,000,000 at step 8.
    assert.deepEqual([0, 7].map((k) => plan.stepRoomRate(k) * p.viewers), [250_000, 2_000_000]);
    assert.match(plain.note(p), /steps by message rate, 2000 viewers in 1 room\(s\) joining in the first 10s, .* 1000 msg\/s per room at step 8 \(counting mode’s shape set stepBy rate, --viewers, --rate; give/);

    const own = countingCapacity({ viewers: 500, rate: 20 });
    const q = resolveProfile(PROFILE, own.overrides);
    assert.deepEqual([q.stepBy, q.viewers, q.rate], ['rate', 500, 20], 'the user’s sizes, still rate steps');
    assert.match(own.note(q), /shape set stepBy rate; give/, 'only stepBy was filled in');

    const viewerSteps = countingCapacity({ stepBy: 'viewers' });
    const v = resolveProfile(PROFILE, viewerSteps.overrides);
    assert.deepEqual([v.stepBy, v.viewers, v.rate], ['viewers', 16000, 8], 'stepBy viewers keeps the audience steps at the counting rate');
    assert.match(viewerSteps.note(v), /steps by viewers/);
  });

  it('npm run bench -- --profile capacity --transport raw --receive count runs rate steps and says so (small sizes through the same path)', async (t) => {
    const out = path.join(tempDir(t), 'counting.json');
    const { finished } = runBench(
      ['--profile', 'capacity', '--transport', 'raw', '--receive', 'count', '--viewers', '30', '--chatters', '2', '--steps', '2', '--ramp-up', '1s', '--duration', '3s', '--drain', '1s', '--set', 'capacity.p99=10s', '--out', out],
      90_000,
    );
    const { code, output } = await finished;
    assert.equal(code, 0, output);
    assert.match(output, /capacity in counting mode: steps by message rate, 30 viewers in 1 room\(s\) joining in the first 1s, 2 chatter\(s\) per room .*\(counting mode’s shape set stepBy rate, --rate;/);
    const r = readResult(out);
    assert.equal(r.profile.stepBy, 'rate');
    assert.equal(r.profile.rate, 100, 'counting mode’s top rate');
    assert.equal(r.profile.viewers, 30, '--viewers kept');
    assert.deepEqual(r.steps!.map((s) => s.ratePerRoom), [100, 200]);
    assert.equal(r.deliveries.receive?.mode, 'count');
    assert.equal(r.deliveries.missing, 0);
  });
});

describe('a real run stepped by message rate', () => {
  it('raises what the chatters send step by step as planned, loses nothing, and its steps table and JSON carry the rate', async (t) => {
    const out = path.join(tempDir(t), 'rate-steps.json');
    // 80 msg/s per chatter at the top: above one send per 20 ms tick, so the ticker must send several.
    const { finished } = runBench(
      ['--profile', 'capacity', '--viewers', '50', '--chatters', '2', '--rate', '80', '--steps', '4', '--ramp-up', '1s', '--duration', '7s', '--drain', '1s', '--set', 'stepBy=rate', '--set', 'capacity.p99=10s', '--transport', 'raw', '--out', out],
      90_000,
    );
    const { code, output } = await finished;
    assert.equal(code, 0, output);
    const r = readResult(out);
    const steps = r.steps!;
    assert.equal(steps.length, 4, output);
    assert.deepEqual(steps.map((s) => s.ratePerRoom), [40, 80, 120, 160], 'offered: 2 chatters × 80 × k/4');
    const sent = steps.map((s) => s.sentPerSecond!);
    t.diagnostic(`sent/s per step: ${sent.map((x) => x.toFixed(1)).join(', ')}`);
    assert.ok(sent[3]! >= 3 * sent[0]!, `step 4 sent ${sent[3]}/s, step 1 ${sent[0]}/s: the rate did not rise fourfold`);
    assert.ok(sent[1]! < sent[3]!, `sent/s rises with the step: ${sent.join(', ')}`);
    // Not a speed: the chatters must send what the plan asks (a one-send-per-tick cap gives 100/s).
    assert.ok(sent[3]! >= 0.7 * 160, `step 4: ${sent[3]}/s sent of the 160/s offered`);
    assert.ok(steps.every((s) => s.missing === 0) && r.deliveries.missing === 0 && r.deliveries.duplicated === 0, JSON.stringify(r.deliveries));
    assert.equal(r.deliveries.delivered, r.deliveries.expected);
    assert.equal(r.viewers.connects.ok, 50, 'the audience joined once, at the start');
    assert.match(output, /steps \(by message rate\) +viewers +msg\/s\/room +sent\/s/);
    assert.match(output, /\n +4 +50 +160 /);
    assert.match(r.capacity!.reason, /^did not break \(.*\) up to 50 viewers at 160 msg\/s per room \(step 4, p99 /);
  });
});

describe('results written before rate steps', () => {
  it('are still summarised and rendered by npm run report, their steps without a rate', async (t) => {
    const r = capacityRun();
    assert.ok(r.steps!.every((s) => s.ratePerRoom === undefined && s.sentPerSecond === undefined), 'the fixture is an old file');
    const summary = formatSummary(r);
    assert.match(summary, /steps \(by viewers\)/);
    assert.match(summary, /\n +1 +1,000 +- +- +20,001 /);
    const file = path.join(tempDir(t), 'old-capacity.json');
    writeFileSync(file, JSON.stringify(r));
    const report = spawnSync(process.execPath, ['--import', 'tsx', 'scenarios/runner/report-cli.ts', file], { cwd: REPO_ROOT, encoding: 'utf8', timeout: 60_000 });
    assert.equal(report.status, 0, `${report.stdout}${report.stderr}`);
    const page = readFileSync(file.replace(/\.json$/, '.html'), 'utf8');
    assert.match(page, /<th>msg\/s per room<\/th>/);
    assert.match(page, /<tr data-step="1" class=""><td>1<\/td><td>1,000<\/td><td>n\/a<\/td><td>n\/a<\/td>/);
  });
});
