import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { encodeReplayMessage, parseFrame, readSendAttributes, scanMessage, type MessageScan } from '../lib/codec.ts';
import { codePointLength } from '../lib/replay/anonymise.ts';
import { parseLogTime, parseReplayLog, ReplayLogError } from '../lib/replay/replay-log.ts';
import { ReplayLayout } from '../lib/replay/replay-plan.ts';
import { buildReplayScript, messagesOf, RECORDED_ATTRIBUTE_BYTES, scheduledAt } from '../lib/replay/replay-script.ts';
import { ROLE_CHATTER, ROLE_MODERATOR, ROLE_VIEWER } from '../lib/schedule.ts';
import { resolveProfile } from '../lib/profile.ts';
import { PROFILES } from '../profiles/index.ts';
import { parseCli, UsageError } from '../runner/args.ts';
import { validateProfile } from '../runner/profile-schema.ts';
import { readReplayLog } from '../runner/replay/read-replay-log.ts';
import { tempDir } from './support/processes.ts';

// The replay core on crafted logs: parsing, the schedule, anonymisation, and reading the places
// IVS Chat logging delivers to.

const T0 = Date.parse('2026-11-20T20:00:00Z');
const iso = (ms: number, digits = 9) => new Date(ms).toISOString().replace(/\.\d+Z$/, `.${String(ms % 1000).padStart(3, '0')}${'123456789'.slice(3, digits)}Z`);

function message(at: number, id: string, user: string, content: string, attributes: Record<string, string> = {}): string {
  return JSON.stringify({
    event_timestamp: iso(at + 3, 3),
    type: 'MESSAGE',
    version: '1.0',
    payload: { Type: 'MESSAGE', Id: id, RequestId: 'r', Attributes: attributes, Content: content, SendTime: iso(at), Sender: { UserId: user } },
  });
}

function event(at: number, id: string, name: string, attributes: Record<string, string>, requestId = ''): string {
  return JSON.stringify({
    event_timestamp: iso(at, 3),
    type: 'EVENT',
    version: '1.0',
    payload: { Type: 'EVENT', Id: id, RequestId: requestId, EventName: name, Attributes: attributes, SendTime: iso(at) },
  });
}

const CRAFTED = [
  message(T0, 'm1', 'alice', 'hello there 😀', { color: 'red' }),
  message(T0 + 500, 'm2', 'bob', 'secret plans', { t: 'clash', badge: 'gold' }),
  message(T0 + 1000, 'm3', 'alice', 'x'),
  event(T0 + 1200, 'e1', 'aws:DELETE_MESSAGE', { MessageId: 'm2', MessageID: 'm2', Reason: 'spoiler' }, 'mod-req'),
  event(T0 + 1300, 'e2', 'aws:DISCONNECT_USER', { UserId: 'bob' }),
  event(T0 + 1400, 'e3', 'aws:DISCONNECT_USER', { UserId: 'lurker' }),
  event(T0 + 1500, 'e4', 'app:poll', { question: 'which?' }),
  event(T0 + 1600, 'e5', 'aws:DELETE_MESSAGE', { MessageId: 'before-the-log' }),
  `${iso(T0 + 2000, 3)} ${message(T0 + 2000, 'm4', 'bob', 'from a CloudWatch export')}`,
  'not json at all',
  '{"type":"MESSAGE","version":"1.0","payload":{"Type":"MESSAGE","Id":"m5","Content":"no sender"}}',
  '{"type":"MESSAGE","payload":{"Type":"MESSAGE","Id":"m6","Content":"c","Sender":{"UserId":"u"},"SendTime":"yesterday"}}',
  '{"type":"SOMETHING","payload":{}}',
  '[1,2]',
  message(T0, 'm1', 'alice', 'hello there 😀', { color: 'red' }),
  '',
].join('\n');

describe('replay log', () => {
  it('reads records, counts each malformed line by reason and keeps a duplicated record once', () => {
    const log = parseReplayLog([{ room: 'roomA', text: CRAFTED }]);
    assert.equal(log.rooms.length, 1);
    const room = log.rooms[0]!;
    assert.deepEqual(room.messages.map((m) => m.id), ['m1', 'm2', 'm3', 'm4']);
    assert.deepEqual(room.events.map((e) => e.eventName), ['aws:DELETE_MESSAGE', 'aws:DISCONNECT_USER', 'aws:DISCONNECT_USER', 'app:poll', 'aws:DELETE_MESSAGE']);
    assert.deepEqual(log.malformed, { 'not JSON': 1, 'no sender': 1, 'bad timestamp': 1, 'unknown type': 1, 'not a record object': 1 });
    assert.equal(log.duplicates, 1);
    assert.equal(log.lines, 15);
    assert.equal(log.examples[0], 'roomA:10: not JSON');
  });

  it('refuses a log only when every line is bad, and says why', () => {
    assert.throws(() => parseReplayLog([{ room: 'r', text: 'a\nb\n{"x":1}\n' }]), (e: Error) => e instanceof ReplayLogError && /2 not JSON, 1 no payload/.test(e.message));
    assert.throws(() => parseReplayLog([{ room: 'r', text: '\n\n' }]), ReplayLogError);
  });

  it('reads SendTime with nanoseconds, milliseconds or epoch digits', () => {
    assert.equal(parseLogTime('2022-12-02T08:24:33.293316758Z'), Date.parse('2022-12-02T08:24:33.293Z') + 0.316758);
    assert.equal(parseLogTime('2022-12-02T08:24:33Z'), Date.parse('2022-12-02T08:24:33Z'));
    assert.equal(parseLogTime('1669969473293'), 1669969473293);
    assert.equal(parseLogTime('1669969473293000000'), 1669969473293);
    assert.equal(parseLogTime('soon'), undefined);
  });
});

describe('replay script', () => {
  const log = parseReplayLog([{ room: 'roomA', text: CRAFTED }]);

  it('schedules each sender’s messages at the recorded offsets divided by the speed', () => {
    for (const speed of [1, 10]) {
      const s = buildReplayScript(log, { speed, keepContent: false, viewersPerRoom: 3, leadInMs: 2000 });
      assert.equal(s.senders, 2);
      assert.deepEqual([messagesOf(s, 0), messagesOf(s, 1)], [2, 2], 'alice 2, bob 2');
      assert.equal(scheduledAt(s, 0, 1), 2000);
      assert.equal(scheduledAt(s, 1, 1), 2000 + 500 / speed);
      assert.equal(scheduledAt(s, 0, 2), 2000 + 1000 / speed);
      assert.equal(scheduledAt(s, 1, 2), 2000 + 2000 / speed);
      assert.equal(s.spanMs, 2000 / speed);
    }
  });

  it('turns recorded moderation into actions on the replayed message and user, keeping the channel', () => {
    const s = buildReplayScript(log, { speed: 1, keepContent: false, viewersPerRoom: 3, leadInMs: 0 });
    assert.equal(s.moderators, 1);
    const [del, kick, kickLurker, poll] = s.actions;
    assert.deepEqual([del!.kind, del!.via, del!.sender, del!.seq], ['delete_message', 'websocket', 1, 1], 'bob’s first message, over the WebSocket');
    assert.deepEqual([kick!.kind, kick!.via, kick!.viewer], ['disconnect_user', 'http', 1], 'bob is viewer 1');
    assert.equal(kickLurker!.kind, 'disconnect_user');
    assert.ok(kickLurker!.viewer >= 3 && kickLurker!.viewer < 6, 'someone who only watched is one of the audience');
    assert.deepEqual([poll!.kind, poll!.eventName, Object.keys(poll!.attributes)], ['event', 'app:poll', ['question']]);
    assert.equal(s.actions.length, 4);
    assert.equal(s.stats.unmatchedDeletes, 1);
    assert.notEqual(del!.reason, 'spoiler');
    assert.equal(del!.reason.length, 'spoiler'.length);
    const layout = new ReplayLayout(s);
    assert.deepEqual([0, 1, 2, 3, 5].map((i) => layout.roleOf(i)), [ROLE_CHATTER, ROLE_CHATTER, ROLE_MODERATOR, ROLE_VIEWER, ROLE_VIEWER]);
    assert.equal(layout.senderOf(0, 1), 1);
  });

  it('anonymises by default: same code-point lengths, same attribute keys and value lengths, never the recorded text', () => {
    const s = buildReplayScript(log, { speed: 1, keepContent: false, viewersPerRoom: 1, leadInMs: 0 });
    const recorded = log.rooms[0]!.messages;
    const bySender = [recorded.filter((m) => m.senderId === 'alice'), recorded.filter((m) => m.senderId === 'bob')].flat();
    const scan: MessageScan = { sendTime: 0, sender: 0, seq: 0, idStart: 0 };
    bySender.forEach((m, k) => {
      const frame = encodeReplayMessage(s.contentJson[k]!, { sendTime: 1, sender: 0, seq: k + 1 }, s.attributesJson[k]!);
      const sent = JSON.parse(frame) as { Content: string; Attributes: Record<string, string> };
      assert.equal(codePointLength(sent.Content), codePointLength(m.content), m.content);
      assert.notEqual(sent.Content, m.content);
      for (const [key, value] of Object.entries(m.attributes)) {
        if (key === 't') continue;
        assert.equal(sent.Attributes[key]!.length, value.length);
        assert.ok(!frame.includes(value), `the recorded value "${value}" is not sent`);
      }
      assert.ok(!frame.includes(m.content));
      // The harness's own attributes come first and stay readable by the receive fast path.
      assert.deepEqual(readSendAttributes(sent.Attributes), { sendTime: 1, sender: 0, seq: k + 1 });
      assert.ok(scanMessage(`{"Type":"MESSAGE","Id":"abcdefghijkl","RequestId":"m1","Attributes":{${frame.split('"Attributes":{')[1]}`, scan) > 0);
    });
    assert.equal(s.stats.keysDropped, 1, 'the recorded "t" would overwrite the harness’s send time');
    const again = buildReplayScript(log, { speed: 1, keepContent: false, viewersPerRoom: 1, leadInMs: 0 });
    assert.deepEqual(again.contentJson, s.contentJson, 'the same log gives the same text in every worker');
  });

  it('sends the recorded text only with keepContent, and fits attributes into the 1 KB budget', () => {
    const big = parseReplayLog([
      { room: 'r', text: message(T0, 'a', 'u', 'as said', { a: 'x'.repeat(900), b: 'y'.repeat(300), c: 'z' }) + '\n' + message(T0 + 1, 'b', 'u', 'é'.repeat(600)) },
    ]);
    const s = buildReplayScript(big, { speed: 1, keepContent: true, viewersPerRoom: 0, leadInMs: 0 });
    assert.equal(JSON.parse(s.contentJson[0]!), 'as said');
    const attrs = JSON.parse(`{${s.attributesJson[0]!.slice(1)}}`) as Record<string, string>;
    assert.deepEqual(Object.keys(attrs), ['a', 'b', 'c']);
    const bytes = Object.entries(attrs).reduce((n, [k, v]) => n + Buffer.byteLength(k) + Buffer.byteLength(v), 0);
    assert.ok(bytes <= RECORDED_ATTRIBUTE_BYTES, `${bytes} bytes`);
    assert.equal(s.stats.attributesTrimmed, 1);
    assert.equal(codePointLength(JSON.parse(s.contentJson[1]!) as string), 500, 'content cut to maximumMessageLength');
    assert.equal(s.stats.contentTrimmed, 1);
  });

  it('splits --viewers across rooms by their senders and asks for a room rate above the busiest scaled second', () => {
    const two = parseReplayLog([
      { room: 'busy', text: [0, 1, 2].map((k) => message(T0 + k * 100, `b${k}`, `u${k}`, 'hi')).join('\n') },
      { room: 'quiet', text: message(T0, 'q', 'solo', 'hi') },
    ]);
    const s = buildReplayScript(two, { speed: 1, keepContent: false, viewers: 8, leadInMs: 0 });
    assert.deepEqual(s.rooms.map((r) => [r.name, r.senders, r.audience]), [
      ['busy', 3, 6],
      ['quiet', 1, 2],
    ]);
    assert.deepEqual(s.audienceRoom.slice(0, 4), [0, 1, 0, 1], 'interleaved, so a ramp fills both rooms');
    const layout = new ReplayLayout(s);
    assert.deepEqual([0, 1, 2].map((slot) => layout.senderOf(0, slot)), [0, 1, 2]);
    assert.deepEqual([0, 1, 2].map((slot) => layout.senderOf(1, slot)), [3, -1, -1], 'a quiet room’s unused slots name nobody');
    assert.equal(s.rooms[0]!.peakPerSecond, 3);
    assert.equal(buildReplayScript(two, { speed: 10, keepContent: false, leadInMs: 0 }).rooms[0]!.peakPerSecond, 3);
  });
});

describe('reading logs where IVS Chat delivers them', () => {
  it('reads a directory of gzip S3 objects and CloudWatch exports, taking the room from room_<id> or <id>.jsonl', (t) => {
    const dir = tempDir(t);
    const s3 = path.join(dir, 'AWSLogs/123456789012/IVSChatLogs/1.0/us-west-2/room_abcDEF123456/2026/11/20/20');
    mkdirSync(s3, { recursive: true });
    writeFileSync(path.join(s3, 'part-0.log.gz'), gzipSync(message(T0, 'm1', 'alice', 'hi') + '\n'));
    writeFileSync(path.join(s3, 'part-1.log.gz'), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
    const cw = path.join(dir, 'export/task-1/aws-ivs-chat-room_zzzZZZ999999');
    mkdirSync(cw, { recursive: true });
    writeFileSync(path.join(cw, '000000.gz'), gzipSync(`${iso(T0, 3)} ${message(T0 + 5, 'm2', 'bob', 'yo')}\n`));
    writeFileSync(path.join(dir, 'QQQQQQQQQQQQ.jsonl'), message(T0, 'm3', 'carol', 'hey') + '\n');
    const log = parseReplayLog(readReplayLog(dir));
    assert.deepEqual(log.rooms.map((r) => [r.name, r.messages.map((m) => m.senderId)]), [
      ['QQQQQQQQQQQQ', ['carol']],
      ['abcDEF123456', ['alice']],
      ['zzzZZZ999999', ['bob']],
    ]);
    assert.deepEqual(log.malformed, { 'not JSON': 1 }, 'a corrupt object is one malformed line, not the end of the run');
    assert.deepEqual(readReplayLog(path.join(dir, 'QQQQQQQQQQQQ.jsonl'), 'given').map((s) => s.room), ['given']);
    assert.throws(() => readReplayLog(path.join(dir, 'missing')), /no such file/);
  });
});

describe('replay options', () => {
  it('--replay and its flags become the profile’s replay field, with --viewers as the audience', () => {
    const cli = parseCli(['--replay', 'logs/', '--speed', '10', '--viewers', '5000', '--keep-content', '--room', 'abc']);
    assert.equal(cli.profile, 'replay');
    assert.deepEqual(cli.overrides, { replay: { path: 'logs/', speed: 10, viewers: 5000, keepContent: true, room: 'abc' } });
    assert.deepEqual(parseCli(['--replay', 'x.jsonl', '--viewers-per-room', '40']).overrides, { replay: { path: 'x.jsonl', speed: 1, viewersPerRoom: 40 } });
    assert.throws(() => parseCli(['--speed', '10']), UsageError, '--speed alone means nothing');
    assert.throws(() => parseCli(['--replay', 'x', '--speed', '0']), /--speed 0/);
  });

  it('a profile can name a log, and a bad replay field is refused by name', () => {
    const p = validateProfile(resolveProfile(PROFILES.smoke!, { replay: { path: 'launch/', speed: 10 } }));
    assert.deepEqual(p.replay, { path: 'launch/', speed: 10 });
    assert.throws(() => validateProfile(resolveProfile(PROFILES.smoke!, { replay: { path: 'launch/', speed: -1 } })), /replay\.speed/);
    assert.throws(() => validateProfile(resolveProfile(PROFILES.smoke!, { replay: { path: 'launch/', speed: 1, colour: 'red' } })), /replay/);
  });
});
