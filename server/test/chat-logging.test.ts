import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateLoggingConfigurationCommand, UpdateLoggingConfigurationCommand } from '@aws-sdk/client-ivschat';
import { test } from 'node:test';
import { connectChatRoom, createRoom, DeleteMessageRequest, SendMessageRequest } from './support/chat.ts';
import { startTestServer } from './support/server.ts';

interface LogRecord {
  event_timestamp: string;
  type: 'MESSAGE' | 'EVENT';
  version: string;
  payload: Record<string, unknown>;
}

/** Records are written through a buffered stream: poll (bounded) until `count` are on disk. */
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
