import assert from 'node:assert/strict';
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateLoggingConfigurationCommand, UpdateLoggingConfigurationCommand } from '@aws-sdk/client-ivschat';
import { test } from 'node:test';
import { connectChatRoom, createRoom, createToken, DeleteMessageRequest, SendMessageRequest } from './support/chat.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer } from './support/server.ts';

interface LogRecord {
  event_timestamp: string;
  type: 'MESSAGE' | 'EVENT';
  version: string;
  payload: Record<string, unknown>;
}

/** Reads the records on disk, polling (bounded) until `count` are there. */
async function readRecords(path: string, count: number): Promise<LogRecord[]> {
  const deadline = Date.now() + 5000;
  for (;;) {
    const text = await readFile(path, 'utf8').catch(() => '');
    const lines = text.split('\n').filter(Boolean);
    if (lines.length >= count || Date.now() > deadline) return lines.map((line) => JSON.parse(line) as LogRecord);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('a room with a logging configuration records every message and event as the frame viewers received', async () => {
  const server = await startTestServer();
  try {
    const configuration = await server.client.send(
      new CreateLoggingConfigurationCommand({ name: 'audit', destinationConfiguration: { s3: { bucketName: 'chat-audit' } } }),
    );
    const { arn, id } = await createRoom(server, { loggingConfigurationIdentifiers: [configuration.arn!] });
    const alice = await connectChatRoom(server, arn, 'alice', ['SEND_MESSAGE', 'DELETE_MESSAGE']);
    const frames: Record<string, unknown>[] = [];
    const viewer = await connectChatRoom(server, arn, 'viewer', []);
    viewer.addListener('message', (m) => frames.push({ kind: 'MESSAGE', id: m.id, content: m.content }));
    const sent = (await alice.sendMessage(new SendMessageRequest('for the record', { k: 'v' }))) as { id: string };
    await alice.deleteMessage(new DeleteMessageRequest(sent.id, 'oops'));

    const records = await readRecords(join(server.dataDir, 'logs', 's3', 'chat-audit', `${id}.jsonl`), 2);
    assert.equal(records.length, 2);
    const [message, event] = records as [LogRecord, LogRecord];
    assert.equal(message.type, 'MESSAGE');
    assert.equal(message.version, '1.0');
    assert.ok(!Number.isNaN(Date.parse(message.event_timestamp)));
    assert.equal(message.payload.Id, sent.id);
    assert.equal(message.payload.Content, 'for the record');
    assert.deepEqual(message.payload.Attributes, { k: 'v' });
    assert.deepEqual(message.payload.Sender, { UserId: 'alice' });
    assert.equal(event.type, 'EVENT');
    assert.equal(event.payload.EventName, 'aws:DELETE_MESSAGE');
    assert.deepEqual(event.payload.Attributes, { MessageId: sent.id, MessageID: sent.id, Reason: 'oops' });
    assert.deepEqual(frames, [{ kind: 'MESSAGE', id: sent.id, content: 'for the record' }]);

    // A new destination takes effect for the connected room at once.
    await server.client.send(
      new UpdateLoggingConfigurationCommand({ identifier: configuration.arn!, destinationConfiguration: { cloudWatchLogs: { logGroupName: '/chat/../audit' } } }),
    );
    await alice.sendMessage(new SendMessageRequest('moved'));
    const moved = await readRecords(join(server.dataDir, 'logs', 'cloudwatch-logs', '%2Fchat%2F..%2Faudit', `${id}.jsonl`), 1);
    assert.deepEqual(moved.map((r) => r.payload.Content), ['moved'], 'the log group name cannot climb out of the logs directory');

    // A Firehose stream may be named "..": it still gets a directory of its own.
    await server.client.send(
      new UpdateLoggingConfigurationCommand({ identifier: configuration.arn!, destinationConfiguration: { firehose: { deliveryStreamName: '..' } } }),
    );
    await alice.sendMessage(new SendMessageRequest('dots'));
    const dots = await readRecords(join(server.dataDir, 'logs', 'firehose', '%2E%2E', `${id}.jsonl`), 1);
    assert.deepEqual(dots.map((r) => r.payload.Content), ['dots']);
    alice.disconnect();
    viewer.disconnect();
  } finally {
    await server.stop();
  }
});

test('nothing on the path of a message touches the data dir synchronously (no *Sync call blocks the event loop) but the handshake\'s one-line used-token record', async () => {
  const server = await startTestServer();
  // Every synchronous fs function is wrapped, and the ES-module bindings of node:fs are re-synced
  // so that `import { mkdirSync } from 'node:fs'` in the server sees the wrapper too. Only calls on
  // the data dir count: the test runner and the TypeScript loader may read their own files.
  const fsModule = fs as unknown as Record<string, unknown>;
  const originals = new Map<string, (...args: unknown[]) => unknown>();
  const syncCalls: string[] = [];
  for (const [name, value] of Object.entries(fsModule)) {
    if (!name.endsWith('Sync') || typeof value !== 'function') continue;
    const original = value as (...args: unknown[]) => unknown;
    originals.set(name, original);
    fsModule[name] = function (this: unknown, ...args: unknown[]) {
      if (String(args[0]).startsWith(server.dataDir)) syncCalls.push(`${name}(${String(args[0])})`);
      return original.apply(this, args);
    };
  }
  syncBuiltinESMExports();
  try {
    const configuration = await server.client.send(
      new CreateLoggingConfigurationCommand({ name: 'audit', destinationConfiguration: { s3: { bucketName: 'sync-check' } } }),
    );
    const { arn, id } = await createRoom(server, { loggingConfigurationIdentifiers: [configuration.arn!] });
    const sender = await connectChatRoom(server, arn, 'sender', ['SEND_MESSAGE']);
    await sender.sendMessage(new SendMessageRequest('opens the log file and its directory'));
    await server.client.send(
      new UpdateLoggingConfigurationCommand({ identifier: configuration.arn!, destinationConfiguration: { firehose: { deliveryStreamName: 'moved' } } }),
    );
    await sender.sendMessage(new SendMessageRequest('opens another'));
    sender.disconnect();
    assert.equal((await readRecords(join(server.dataDir, 'logs', 'firehose', 'moved', `${id}.jsonl`), 1)).length, 1);
  } finally {
    for (const [name, original] of originals) fsModule[name] = original;
    syncBuiltinESMExports();
    await server.stop();
  }
  // The handshake appends its used-token line with one synchronous write of ~40 bytes, a tenth of
  // the CPU of an asynchronous one (store/used-token-log.ts): the one deliberate exception.
  assert.ok(syncCalls.some((call) => call.includes('used-tokens.log')), `the handshake opened the used-token log (${syncCalls.join(', ')})`);
  assert.deepEqual(syncCalls.filter((call) => !call.endsWith('used-tokens.log)')), []);
});

test('messages sent back to back while the log file is being opened are logged and delivered in the order sent', async () => {
  const server = await startTestServer();
  try {
    const configuration = await server.client.send(
      new CreateLoggingConfigurationCommand({ name: 'order', destinationConfiguration: { s3: { bucketName: 'order-check' } } }),
    );
    const { arn, id } = await createRoom(server, { loggingConfigurationIdentifiers: [configuration.arn!], maximumMessageRatePerSecond: 100 });
    const sender = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'sender')).token);
    const sent = Array.from({ length: 30 }, (_, i) => `m${i}`);
    // All in one go: the first record waits for the directory and the file, the rest queue behind it.
    for (const content of sent) sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: content, Content: content }));
    await sender.waitFor((frame) => frame.Type === 'MESSAGE' && frame.Content === sent.at(-1));
    assert.deepEqual(sender.frames.filter((frame) => frame.Type === 'MESSAGE').map((frame) => frame.Content), sent);
    const records = await readRecords(join(server.dataDir, 'logs', 's3', 'order-check', `${id}.jsonl`), sent.length);
    assert.deepEqual(records.map((record) => record.payload.Content), sent);
    sender.close();
  } finally {
    await server.stop();
  }
});
