import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import WebSocket from 'ws';
import type { RunResult } from '../lib/results.ts';
import { readReportModel } from '../runner/html-report.ts';
import { buildK6 } from '../k6/build.ts';
import { REPO_ROOT, runBench, startServer, tempDir } from './support/processes.ts';

const K6 = path.join(REPO_ROOT, '..', 'shared', 'tools', 'k6', 'k6');

// Replays end to end: real processes, real sockets, a real chatstorm server. A crafted log at
// --speed 1 and --speed 10; a log that chatstorm's own logging configuration wrote while test
// clients chatted and were moderated; and what `npm run record` captured of that same room.

/** Schedule drift allowed at p99. Generous: a tick is 5 ms, but the machine is shared and noisy. */
const DRIFT_P99_BOUND_MS = 750;

const readResult = (file: string) => JSON.parse(readFileSync(file, 'utf8')) as RunResult;

/** The frame around a few-seconds log: a dozen sockets join in 1 s, and 1 s drains localhost. */
const SHORT_FRAME = ['--ramp-up', '1s', '--drain', '1s'];

async function api<T>(url: string, operation: string, body: unknown): Promise<T> {
  const response = await fetch(`${url}/${operation}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  assert.ok(response.ok, `${operation}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : {}) as T;
}

async function until<T>(what: string, probe: () => T | undefined | Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const T0 = Date.parse('2026-11-20T20:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString().replace('Z', '123456Z');
const SECRET = 'recorded secret';

/**
 * Two rooms, one with three senders and one with one (rooms differ), 36 messages over 1.8 s,
 * WebSocket and HTTP moderation, a custom event, two bad lines.
 */
function craftedLog(dir: string): { file: string; messages: number } {
  const lines: string[] = [];
  const other: string[] = [];
  const ids: string[] = [];
  for (let k = 0; k < 36; k++) {
    const at = T0 + k * 50 + (k % 4) * 3;
    const id = `M${String(k).padStart(11, '0')}`;
    ids.push(id);
    (k % 4 < 3 ? lines : other).push(
      JSON.stringify({
        event_timestamp: iso(at + 4),
        type: 'MESSAGE',
        version: '1.0',
        payload: {
          Type: 'MESSAGE',
          Id: id,
          RequestId: `r${k}`,
          Attributes: { emote: `${SECRET} ${k}` },
          Content: `${SECRET} number ${k} 😀`,
          SendTime: iso(at),
          Sender: { UserId: `user-${k % 4}`, Attributes: {} },
        },
      }),
    );
  }
  const ev = (at: number, name: string, attributes: Record<string, string>, requestId: string) =>
    JSON.stringify({ event_timestamp: iso(T0 + at), type: 'EVENT', version: '1.0', payload: { Type: 'EVENT', Id: `E${at}`, RequestId: requestId, EventName: name, Attributes: attributes, SendTime: iso(T0 + at) } });
  lines.push(ev(700, 'aws:DELETE_MESSAGE', { MessageId: ids[4]!, MessageID: ids[4]!, Reason: SECRET }, 'mod-1'));
  lines.push(ev(900, 'aws:DELETE_MESSAGE', { MessageId: ids[9]!, MessageID: ids[9]! }, ''));
  lines.push(ev(1000, 'aws:DISCONNECT_USER', { UserId: 'lurker-1' }, ''));
  lines.push(ev(1100, 'aws:DISCONNECT_USER', { UserId: 'lurker-2', Reason: 'bye' }, 'mod-2'));
  lines.push(ev(1200, 'app:poll', { question: SECRET }, ''));
  lines.push('not a record');
  lines.push('{"type":"MESSAGE","payload":{"Type":"MESSAGE","Content":"no sender"}}');
  const logs = path.join(dir, 'logs');
  mkdirSync(logs);
  // The quiet room sorts first: its receivers' unused sender slots must not name the busy room's senders.
  writeFileSync(path.join(logs, 'AAAAAAAAAAAA.jsonl'), `${other.join('\n')}\n`);
  writeFileSync(path.join(logs, 'BBBBBBBBBBBB.jsonl'), `${lines.join('\n')}\n`);
  return { file: logs, messages: 36 };
}

interface Expectation {
  messages: number;
  deletes: number;
  disconnects: number;
}

function assertFaithful(r: RunResult, e: Expectation, output: string, resultFile: string): void {
  const replay = r.replay;
  assert.ok(replay, 'the result has a replay section');
  assert.equal(replay.recordedMessages, e.messages);
  assert.equal(replay.sentMessages, e.messages, 'every recorded message was sent');
  assert.equal(replay.resent, 0, 'and none twice');
  assert.equal(r.messages.sent, e.messages);
  assert.equal(r.messages.acked, e.messages, output);
  assert.ok(replay.driftMs.p99 < DRIFT_P99_BOUND_MS, `drift p99 ${replay.driftMs.p99} ms < ${DRIFT_P99_BOUND_MS} ms`);
  assert.ok(r.deliveries.expected > 0);
  assert.equal(r.deliveries.delivered, r.deliveries.expected);
  assert.equal(r.deliveries.missing, 0);
  assert.equal(r.deliveries.duplicated, 0);
  const m = r.moderation.actions;
  assert.equal(replay.actions.deleteMessage, e.deletes);
  assert.equal(replay.actions.disconnectUser, e.disconnects);
  assert.equal(m.delete_message.websocket + m.delete_message.http, e.deletes, 'every recorded delete was replayed');
  assert.equal(m.disconnect_user.websocket + m.disconnect_user.http, e.disconnects, 'every recorded disconnect was replayed');
  assert.ok(r.moderation.eventsReceived.deleteMessage >= e.deletes, 'the deletes reached the room');
  assert.ok(r.moderation.eventsReceived.disconnectUser >= e.disconnects);
  assert.deepEqual(r.apiErrors, {});
  for (const room of replay.rooms) {
    assert.equal(room.sent, room.recorded, room.name);
    const total = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    assert.equal(Math.round(total(room.sentPerSecond) * replay.bucketSeconds), room.recorded, `${room.name}: the sent series covers every message`);
    assert.equal(Math.round(total(room.recordedPerSecond) * replay.bucketSeconds), room.recorded);
  }
  assert.ok(r.passed, JSON.stringify(r.thresholds));
  assert.match(output, /drift +p50 [\d.]+ +p99 [\d.]+ +max/);
  // The run's page charts each room's recorded and sent rate, a point per bucket.
  const page = readFileSync(resultFile.replace(/\.json$/, '.html'), 'utf8');
  const charts = readReportModel(page).charts.filter((c) => c.id.startsWith('replay-'));
  assert.equal(charts.length, replay.rooms.length, 'a chart per room');
  charts.forEach((c, k) => {
    assert.deepEqual(c.series.map((s) => s.label), ['recorded', 'sent']);
    assert.deepEqual(c.tables[0]![1], replay.rooms[k]!.recordedPerSecond, `room ${k}: recorded`);
    assert.deepEqual(c.tables[0]![2], replay.rooms[k]!.sentPerSecond, `room ${k}: sent`);
  });
}

describe('replay runner', () => {
  it('refuses, before starting anything, a log whose every line is malformed, naming the reasons (exit 2)', async (t) => {
    const dir = tempDir(t);
    const file = path.join(dir, 'junk.jsonl');
    writeFileSync(file, 'hello\n{"type":"MESSAGE","payload":{"Type":"MESSAGE"}}\n[]\n');
    const { finished } = runBench(['--replay', file], 30_000);
    const { code, output } = await finished;
    assert.equal(code, 2, output);
    assert.match(output, /no line of the log is a chat log record \(1 not JSON, 1 no sender, 1 not a record object; e\.g\. junk:1: not JSON/);
    assert.doesNotMatch(output, /chatstorm started/, 'no server was started for it');
  });

  it('replays a crafted log at --speed 1 and --speed 10: each message once, on schedule, moderation replayed, nothing lost, recorded text never sent', async (t) => {
    const dir = tempDir(t);
    const server = await startServer(path.join(dir, 'data'));
    t.after(() => server.stop());
    const { file, messages } = craftedLog(dir);
    // Every room the runner creates is attached to a logging configuration, so what the server
    // actually received is on disk to be checked.
    const logging = await api<{ arn: string }>(server.url, 'CreateLoggingConfiguration', { destinationConfiguration: { s3: { bucketName: 'seen' } } });
    // Anonymising does not depend on the speed, so --speed 10 runs once, keeping the content.
    for (const [speed, keep] of [
      ['1', false],
      ['10', true],
    ] as const) {
      const out = path.join(dir, `speed-${speed}-${keep}.json`);
      const flags = keep ? ['--keep-content'] : [];
      const { finished } = runBench(['--url', server.url, '--replay', file, '--speed', speed, '--viewers-per-room', '6', '--workers', '1', ...SHORT_FRAME, '--out', out, ...flags], 90_000);
      const attached = new Set<string>();
      const rooms = await until('the replay’s two rooms', async () => {
        const list = await api<{ rooms: { arn: string; id: string; name: string }[] }>(server.url, 'ListRooms', {});
        const mine = list.rooms.filter((room) => room.name.startsWith('chatstorm-replay-') && !attached.has(room.arn));
        return mine.length === 2 ? mine : undefined;
      });
      for (const room of rooms) {
        attached.add(room.arn);
        await api(server.url, 'UpdateRoom', { identifier: room.arn, loggingConfigurationIdentifiers: [logging.arn] });
      }
      const { code, output } = await finished;
      assert.equal(code, 0, output);
      const r = readResult(out);
      assertFaithful(r, { messages, deletes: 2, disconnects: 2 }, output, out);
      assert.equal(r.replay!.speed, Number(speed));
      assert.equal(r.replay!.malformed, 2);
      assert.deepEqual(r.replay!.malformedReasons, { 'not JSON': 1, 'no sender': 1 });
      assert.equal(r.replay!.actions.event, 1);
      assert.match(output, /malformed 2 \(1 not JSON, 1 no sender\)/);

      const seen = rooms.flatMap((room) => readFileSync(path.join(dir, 'data', 'logs', 's3', 'seen', `${room.id}.jsonl`), 'utf8').split('\n').filter(Boolean));
      const sent = seen.map((line) => JSON.parse(line) as { type: string; payload: { Content?: string; Attributes?: Record<string, string>; EventName?: string } });
      const contents = sent.filter((x) => x.type === 'MESSAGE').map((x) => x.payload);
      assert.equal(contents.length, messages);
      if (keep) {
        // Asked for: the recorded words, as recorded.
        const recorded = new Set(Array.from({ length: messages }, (_, k) => `${SECRET} number ${k} 😀`));
        assert.ok(contents.every((p) => recorded.has(p.Content!)), 'every message carried its recorded text');
        assert.ok(sent.some((x) => x.payload.EventName === 'app:poll' && x.payload.Attributes?.question === SECRET));
        continue;
      }
      assert.ok(!seen.some((line) => line.includes(SECRET)), 'no recorded text, attribute value or reason reached the server');
      for (const p of contents) {
        // The recorded k had 1 or 2 digits; the anonymised attribute says how many by its length.
        const digits = p.Attributes!.emote!.length - `${SECRET} `.length;
        assert.ok(digits === 1 || digits === 2, 'the attribute value kept its length');
        assert.equal([...p.Content!].length, [...`${SECRET} number ${'0'.repeat(digits)} 😀`].length, 'the content kept its length in code points');
      }
      assert.ok(sent.some((x) => x.payload.EventName === 'app:poll'), 'the custom event went through SendEvent');
    }
  });

  it('replays what chatstorm’s logging configuration wrote and what npm run record captured of the same room', async (t) => {
    const dir = tempDir(t);
    const dataDir = path.join(dir, 'data');
    const server = await startServer(dataDir);
    t.after(() => server.stop());
    const logging = await api<{ arn: string }>(server.url, 'CreateLoggingConfiguration', { destinationConfiguration: { s3: { bucketName: 'launch-night' } } });
    const room = await api<{ arn: string; id: string }>(server.url, 'CreateRoom', { maximumMessageRatePerSecond: 100, loggingConfigurationIdentifiers: [logging.arn] });

    const recordDir = path.join(dir, 'recorded');
    const recorder = spawn(process.execPath, ['--import', 'tsx', 'scenarios/runner/record.ts', '--url', server.url, '--room', room.arn, '--minutes', '1', '--out', recordDir], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let recorderOutput = '';
    recorder.stdout.on('data', (d: Buffer) => (recorderOutput += d.toString()));
    const recorderExit = new Promise<number | null>((resolve) => recorder.once('exit', resolve));
    t.after(() => recorder.kill('SIGKILL'));
    await until('the recorder to join the room', () =>
      new Promise<true | undefined>((resolve) => {
        const lines = createInterface({ input: recorder.stderr });
        lines.on('line', (line) => {
          recorderOutput += `${line}\n`;
          if (line.startsWith('recording ')) resolve(true);
        });
      }),
    );

    const connect = async (userId: string, capabilities: string[]) => {
      const { token } = await api<{ token: string }>(server.url, 'CreateChatToken', { roomIdentifier: room.arn, userId, capabilities });
      const ws = new WebSocket(`${server.url.replace(/^http/, 'ws')}/`, token);
      const frames: { Type: string; Id: string; RequestId?: string; EventName?: string }[] = [];
      ws.on('message', (d) => frames.push(JSON.parse(d.toString()) as (typeof frames)[number]));
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      const request = async (frame: Record<string, unknown>) => {
        ws.send(JSON.stringify(frame));
        return until(`the answer to ${String(frame.RequestId)}`, () => frames.find((f) => f.RequestId === frame.RequestId));
      };
      return { ws, frames, request };
    };
    const ann = await connect('ann', ['SEND_MESSAGE']);
    const ben = await connect('ben', ['SEND_MESSAGE']);
    const mod = await connect('mod', ['DELETE_MESSAGE', 'DISCONNECT_USER']);
    const watcher = await connect('watcher', []);
    const sent: string[] = [];
    for (let k = 0; k < 12; k++) {
      const who = k % 3 === 2 ? ben : ann;
      const ack = await who.request({ Action: 'SEND_MESSAGE', RequestId: `s${k}`, Content: `launch chat ${k}`, Attributes: { k: String(k) } });
      assert.equal(ack.Type, 'MESSAGE');
      sent.push(ack.Id);
      await new Promise((resolve) => setTimeout(resolve, 40)); // a recorded gap, not a synchronisation
    }
    await mod.request({ Action: 'DELETE_MESSAGE', RequestId: 'd1', Id: sent[3], Reason: 'spoiler' });
    await api(server.url, 'DeleteMessage', { roomIdentifier: room.arn, id: sent[7] });
    await api(server.url, 'DisconnectUser', { roomIdentifier: room.arn, userId: 'watcher', reason: 'rude' });
    await api(server.url, 'SendEvent', { roomIdentifier: room.arn, eventName: 'app:countdown', attributes: { seconds: '10' } });
    for (const c of [ann, ben, mod, watcher]) c.ws.close();

    const logDir = path.join(dataDir, 'logs', 's3', 'launch-night');
    const recordedFile = path.join(recordDir, `${room.id}.jsonl`);
    const lineCount = (file: string) => (existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean).length : 0);
    await until('12 messages and 4 events in the logging destination', () => (lineCount(path.join(logDir, `${room.id}.jsonl`)) === 16 ? true : undefined));
    await until('the recorder to write the same 16 records', () => (lineCount(recordedFile) === 16 ? true : undefined));
    recorder.kill('SIGINT');
    assert.equal(await recorderExit, 0, recorderOutput);
    assert.match(recorderOutput, /recorded \w+: 12 messages, 4 events in 1 session/);

    // The recorder saw what the logging configuration logged, frame for frame.
    const payloads = (file: string) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.stringify((JSON.parse(line) as { payload: unknown }).payload));
    assert.deepEqual(payloads(recordedFile), payloads(path.join(logDir, `${room.id}.jsonl`)));

    // Each source once: --speed 10 is the crafted log's test above.
    for (const [source, speed] of [
      [logDir, '1'],
      [recordedFile, '1'],
    ] as const) {
      const out = path.join(dir, `replay-${speed}-${path.basename(source)}.json`);
      const { finished } = runBench(['--url', server.url, '--replay', source, '--speed', speed, '--viewers', '5', '--workers', '1', ...SHORT_FRAME, '--out', out], 90_000);
      const { code, output } = await finished;
      assert.equal(code, 0, output);
      const r = readResult(out);
      assertFaithful(r, { messages: 12, deletes: 2, disconnects: 1 }, output, out);
      assert.equal(r.replay!.malformed, 0);
      assert.deepEqual(
        r.replay!.rooms.map((x) => [x.name, x.senders, x.audience]),
        [[room.id, 2, 5]],
      );
      assert.equal(r.replay!.actions.event, 1);
    }
  });

  it('the k6 replay bundle runs under the real k6 v0.48: the log read with open(), senders split across VUs, every message sent and delivered', { skip: existsSync(K6) ? false : `no k6 binary at ${K6}` }, async (t) => {
    const dir = tempDir(t);
    const server = await startServer(path.join(dir, 'data'));
    t.after(() => server.stop());
    const { file } = craftedLog(dir);
    const files = await buildK6(path.join(dir, 'dist'));
    const bundle = files.find((f) => f.endsWith(path.join('k6-legacy', 'replay.js')))!;
    const out = path.join(dir, 'replay-k6.json');
    const k6 = spawn(
      K6,
      [
        'run', '-q', '--no-usage-report',
        '-e', `CHATSTORM_URL=${server.url}`,
        '-e', `CHATSTORM_REPLAY=${path.join(file, 'AAAAAAAAAAAA.jsonl')},${path.join(file, 'BBBBBBBBBBBB.jsonl')}`,
        '-e', 'CHATSTORM_SET=replay.speed=2;replay.viewersPerRoom=6',
        // 4 senders + 1 moderator + 12 viewers over 5 VUs: each VU plays a share of the senders.
        '-e', 'VIEWERS_PER_VU=4',
        '-e', `CHATSTORM_OUT=${out}`,
        bundle,
      ],
      { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    k6.stdout.on('data', (d: Buffer) => (output += d.toString()));
    k6.stderr.on('data', (d: Buffer) => (output += d.toString()));
    const timer = setTimeout(() => k6.kill('SIGKILL'), 90_000);
    const code = await new Promise<number | null>((resolve) => k6.once('exit', resolve));
    clearTimeout(timer);
    assert.equal(code, 0, output);
    const r = readResult(out);
    assert.equal(r.engine, 'k6');
    assert.equal(r.messages.sent, 36, output);
    assert.equal(r.messages.acked, 36);
    assert.ok(r.deliveries.expected > 0);
    assert.equal(r.deliveries.delivered, r.deliveries.expected);
    assert.equal(r.deliveries.missing, 0);
    const m = r.moderation.actions;
    assert.equal(m.delete_message.websocket + m.delete_message.http, 2);
    assert.equal(m.disconnect_user.websocket + m.disconnect_user.http, 2);
    assert.deepEqual(r.apiErrors, {});
  });
});
