import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDurationMs } from '../lib/duration.ts';
import { resolveProfile, setField } from '../lib/profile.ts';
import { Layout, Plan, ROLE_CHATTER, ROLE_MODERATOR, ROLE_VIEWER } from '../lib/schedule.ts';
import { PROFILES } from '../profiles/index.ts';
import { parseCli } from '../runner/args.ts';
import { validateProfile } from '../runner/profile-schema.ts';

describe('profiles', () => {
  it('ships the six scenarios, each valid once resolved', () => {
    assert.deepEqual(Object.keys(PROFILES).sort(), ['capacity', 'churn', 'fanout', 'mixed', 'moderation', 'smoke', 'soak']);
    for (const input of Object.values(PROFILES)) validateProfile(resolveProfile(input));
  });

  it('lets flags override any field, nested ones through --set', () => {
    const cli = parseCli(['--viewers', '5000', '--rooms', '10', '--duration', '2m', '--rate', '2', '--set', 'churn.leavePerSecond=0.05', '--set', 'reconnect.afterError=false']);
    const p = validateProfile(resolveProfile(PROFILES.churn!, cli.overrides));
    assert.equal(p.viewers, 5000);
    assert.equal(p.rooms, 10);
    assert.equal(p.duration, '2m');
    assert.equal(p.rate, 2);
    assert.equal(p.churn.leavePerSecond, 0.05);
    assert.equal(p.reconnect.afterError, false);
    assert.equal(p.churn.storms.length, 2, 'fields not overridden stay');
  });

  it('rejects a bad field by name before anything runs', () => {
    assert.throws(() => validateProfile(resolveProfile(PROFILES.smoke!, { churn: { leavePerSecond: 3 } })), /churn\.leavePerSecond/);
    assert.throws(() => validateProfile(resolveProfile(PROFILES.smoke!, { thresholds: ['p99 quickly'] })), /thresholds\.0/);
    assert.throws(() => parseCli(['--viewers', 'many']), /--viewers many/);
  });

  it('keeps a shortened run’s shape: the ramp never takes more than half of it', () => {
    const p = resolveProfile(PROFILES.fanout!, { duration: '10s' });
    assert.equal(parseDurationMs(p.rampUp), 5000);
  });

  it('reads values in --set as JSON when they look like JSON', () => {
    const o: Record<string, unknown> = {};
    setField(o, 'churn.storms', '[{"at":"5s","leave":0.5}]');
    setField(o, 'name', 'x');
    assert.deepEqual(o, { churn: { storms: [{ at: '5s', leave: 0.5 }] }, name: 'x' });
  });
});

describe('layout and plan', () => {
  const base = resolveProfile({ name: 't', description: '' }, { viewers: 1000, rooms: 4, chattersPerRoom: 3, moderation: { deleteMessagePerSecond: 1 } });

  it('puts chatters first, then one moderator per room, then the audience', () => {
    const layout = new Layout(base);
    assert.equal(layout.chatters, 12);
    assert.equal(layout.roleOf(11), ROLE_CHATTER);
    assert.equal(layout.roleOf(12), ROLE_MODERATOR);
    assert.equal(layout.roleOf(16), ROLE_VIEWER);
    for (let i = 0; i < 12; i++) assert.equal(layout.senderOf(layout.roomOf(i), layout.slotOf(i)), i);
    assert.deepEqual([12, 13, 14, 15].map((i) => layout.roomOf(i)), [0, 1, 2, 3]);
  });

  it('spreads the audience evenly, or puts the hot room’s share in room 0', () => {
    const count = (layout: Layout) => {
      const rooms = [0, 0, 0, 0];
      for (let i = 16; i < 1000; i++) rooms[layout.roomOf(i)]!++;
      return rooms;
    };
    assert.deepEqual(count(new Layout(base)), [246, 246, 246, 246]);
    const hot = count(new Layout({ ...base, hotRoomShare: 0.7 }));
    assert.ok(Math.abs(hot[0]! - 0.7 * 984) < 5, `hot room got ${hot[0]}`);
    assert.ok(hot.slice(1).every((n) => Math.abs(n - (0.3 * 984) / 3) < 8), `${hot}`);
  });

  it('ramps up linearly with the talkers already in, then holds, then drains', () => {
    const plan = new Plan(resolveProfile({ name: 't', description: '' }, { viewers: 1000, rooms: 2, chattersPerRoom: 5, duration: '20s', rampUp: '10s', drain: '2s' }));
    assert.equal(plan.targetAt(0), 10);
    assert.equal(plan.targetAt(5000), 500);
    assert.equal(plan.targetAt(15_000), 1000);
    assert.equal(plan.phaseAt(5000), 'ramp');
    assert.equal(plan.phaseAt(15_000), 'steady');
    assert.equal(plan.phaseAt(21_000), 'drain');
    assert.equal(plan.phaseAt(22_000), 'done');
  });

  it('steps the audience up in equal steps for a capacity search', () => {
    const plan = new Plan(resolveProfile(PROFILES.capacity!));
    assert.equal(plan.stepMs, 10_000);
    assert.deepEqual([0, 9_999, 10_000, 79_999].map((t) => plan.targetAt(t)), [2000, 2000, 4000, 16000]);
    assert.deepEqual([0, 10_000, 79_999].map((t) => plan.stepAt(t)), [0, 1, 7]);
  });
});
