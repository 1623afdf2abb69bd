import assert from 'node:assert/strict';
import { mkdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { test } from 'node:test';
import {
  CreateLoggingConfigurationCommand,
  CreateRoomCommand,
  GetRoomCommand,
  InternalServerException,
  ListRoomsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UpdateRoomCommand,
} from '@aws-sdk/client-ivschat';
import { pino } from 'pino';
import { createMetrics } from '../src/metrics.ts';
import { WriteHealth } from '../src/store/write-health.ts';
import { createRoom, createToken } from './support/chat.ts';
import { expectApiError } from './support/control-plane.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Root ignores permission bits, so these tests make a path unwritable the way root cannot write
// either: a directory where a file goes, a file where a directory goes, or a link to /dev/full
// (every write fails with ENOSPC, as on a full disk).

async function writeErrors(server: TestServer, file: string): Promise<number> {
  const text = await (await fetch(server.metricsUrl)).text();
  const match = new RegExp(`^chatstorm_storage_write_errors_total\\{file="${file}"\\} (\\d+)$`, 'm').exec(text);
  assert.ok(match, `the metric has a series for file="${file}"`);
  return Number(match[1]);
}

async function refusedStatus(url: string, token: string): Promise<number | undefined> {
  try {
    const socket = await RawChatSocket.connect(url, token);
    socket.close();
    await socket.waitForClose();
    return undefined;
  } catch (error) {
    return (error as { status?: number }).status;
  }
}

test('a handshake whose used-token record cannot be written is refused with 500; the server keeps serving and recovers', async () => {
  const server = await startTestServer();
  const tokenLog = join(server.dataDir, 'used-tokens.log');
  try {
    assert.equal(await writeErrors(server, 'token_log'), 0);
    const { arn } = await createRoom(server);
    const first = await createToken(server, arn, 'first');

    await rm(tokenLog);
    await mkdir(tokenLog);
    assert.equal(await refusedStatus(server.wsUrl, first.token), 500, 'a directory in place of the log refuses the handshake');
    assert.equal(await writeErrors(server, 'token_log'), 1);
    assert.equal((await server.client.send(new GetRoomCommand({ identifier: arn }))).arn, arn, 'the server still serves');

    // A full disk: the file opens, every write fails.
    await rm(tokenLog, { recursive: true });
    await symlink('/dev/full', tokenLog);
    assert.equal(await refusedStatus(server.wsUrl, first.token), 500, 'a full disk refuses the handshake');
    assert.equal(await writeErrors(server, 'token_log'), 2);

    await rm(tokenLog);
    assert.equal(await refusedStatus(server.wsUrl, first.token), undefined, 'a refused token was never used: it works once the log is writable');
    assert.equal(await refusedStatus(server.wsUrl, first.token), 401, 'and is single-use again');
    assert.match(await readFile(tokenLog, 'utf8'), /^\S+ \d+\n$/, 'its record is in the log');
  } finally {
    await rm(tokenLog, { recursive: true, force: true });
    await server.stop();
  }
});

test('a control-plane change whose store write fails answers 500 and is not visible afterwards; the server recovers', async () => {
  const server = await startTestServer();
  const storeFile = join(server.dataDir, 'store.json');
  try {
    const kept = await server.client.send(new CreateRoomCommand({ name: 'kept', tags: { a: '1' } }));
    const before = await server.client.send(new GetRoomCommand({ identifier: kept.arn }));

    await rm(storeFile);
    await mkdir(storeFile);
    await expectApiError(server.client.send(new CreateRoomCommand({ name: 'lost' })), InternalServerException);
    await expectApiError(server.client.send(new UpdateRoomCommand({ identifier: kept.arn, name: 'renamed', maximumMessageLength: 7 })), InternalServerException);
    await expectApiError(server.client.send(new TagResourceCommand({ resourceArn: kept.arn, tags: { b: '2' } })), InternalServerException);
    await expectApiError(
      server.client.send(new CreateLoggingConfigurationCommand({ name: 'lost', destinationConfiguration: { s3: { bucketName: 'lost-bucket' } } })),
      InternalServerException,
    );
    assert.equal(await writeErrors(server, 'store'), 4);

    const { $metadata: _, ...after } = await server.client.send(new GetRoomCommand({ identifier: kept.arn }));
    const { $metadata: __, ...expected } = before;
    assert.deepEqual(after, expected, 'the failed UpdateRoom and TagResource changed nothing');
    assert.deepEqual((await server.client.send(new ListTagsForResourceCommand({ resourceArn: kept.arn }))).tags, { a: '1' });
    const listed = await server.client.send(new ListRoomsCommand({}));
    assert.deepEqual(listed.rooms!.map((room) => room.name), ['kept'], 'the failed CreateRoom left no room behind');

    await rm(storeFile, { recursive: true });
    await server.client.send(new TagResourceCommand({ resourceArn: kept.arn, tags: { c: '3' } }));
    const stored = JSON.parse(await readFile(storeFile, 'utf8')) as { rooms: { name: string; tags: Record<string, string> }[]; loggingConfigurations: unknown[] };
    assert.deepEqual(stored.rooms.map((room) => [room.name, room.tags]), [['kept', { a: '1', c: '3' }]], 'the next change is written, without the refused ones');
    assert.deepEqual(stored.loggingConfigurations, []);
  } finally {
    await rm(storeFile, { recursive: true, force: true });
    await server.stop();
  }
});

test('a message whose chat-log record cannot be written gets ERROR 500 and is not delivered; logging recovers by itself', async () => {
  const server = await startTestServer();
  try {
    const configuration = await server.client.send(
      new CreateLoggingConfigurationCommand({ name: 'audit', destinationConfiguration: { s3: { bucketName: 'audit' } } }),
    );
    const { arn, id } = await createRoom(server, { loggingConfigurationIdentifiers: [configuration.arn!] });
    const sender = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'sender')).token);
    const viewer = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'viewer', [])).token);
    const directory = join(server.dataDir, 'logs', 's3', 'audit');
    const send = (requestId: string, content: string) =>
      sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: requestId, Content: content }));

    // A file where the destination directory goes.
    await mkdir(join(server.dataDir, 'logs', 's3'), { recursive: true });
    await writeFile(directory, 'not a directory');
    send('r1', 'unlogged-1');
    const refused = await sender.waitFor((frame) => frame.RequestId === 'r1');
    assert.equal(refused.Type, 'ERROR');
    assert.equal(refused.ErrorCode, 500);

    // A full disk: the directory exists, the file opens, every write fails.
    await rm(directory);
    await mkdir(directory);
    await symlink('/dev/full', join(directory, `${id}.jsonl`));
    send('r2', 'unlogged-2');
    assert.equal((await sender.waitFor((frame) => frame.RequestId === 'r2')).ErrorCode, 500);
    assert.equal(await writeErrors(server, 'chat_log'), 2);

    await rm(join(directory, `${id}.jsonl`));
    send('r3', 'logged');
    const delivered = await viewer.waitFor((frame) => frame.Type === 'MESSAGE');
    assert.equal(delivered.Content, 'logged', 'the refused messages were never delivered (they would have arrived first)');
    assert.deepEqual(
      viewer.frames.filter((frame) => frame.Type === 'MESSAGE').map((frame) => frame.Content),
      ['logged'],
    );
    const records = (await readFile(join(directory, `${id}.jsonl`), 'utf8')).split('\n').filter(Boolean);
    assert.deepEqual(records.map((line) => (JSON.parse(line) as { payload: { Content: string } }).payload.Content), ['logged']);
    sender.close();
    viewer.close();
  } finally {
    await server.stop();
  }
});

test('a burst of failed writes is logged once and counted each time; the first success after it is logged once', async () => {
  const lines: Array<{ level: number; msg: string; failedWritesNotLogged?: number }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as (typeof lines)[number]);
      done();
    },
  });
  const metrics = createMetrics({ uwsFallback: false, version: 'test' });
  const health = new WriteHealth('chat_log', metrics, pino({ level: 'info' }, sink));
  for (let i = 0; i < 50; i++) health.failed('/data/logs/x.jsonl', new Error('ENOSPC'));
  health.succeeded();
  health.succeeded();
  assert.equal(lines.length, 2, `one error and one recovery line, got ${JSON.stringify(lines)}`);
  assert.equal(lines[0]!.level, 50);
  assert.match(lines[0]!.msg, /cannot write the chat_log/);
  assert.match(lines[1]!.msg, /writable again/);
  const counted = (await metrics.storageWriteErrors.get()).values.find((value) => value.labels.file === 'chat_log');
  assert.equal(counted?.value, 50);
});
