import assert from 'node:assert/strict';
import { join } from 'node:path';
import {
  CreateLoggingConfigurationCommand,
  DeleteMessageCommand,
  DeleteRoomCommand,
  DisconnectUserCommand,
  SendEventCommand,
} from '@aws-sdk/client-ivschat';
import { test } from 'node:test';
import { createRoom, createToken } from './support/chat.ts';
import { waitForFile } from './support/control-plane.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer } from './support/server.ts';

const scrape = async (url: string) => (await fetch(`${url}/metrics`)).text();
const series = (text: string, name: string) => text.split('\n').filter((line) => line.startsWith(`${name}{`));

test('without --metrics-room-labels there are no per-room series at all', async () => {
  const server = await startTestServer();
  try {
    const { arn } = await createRoom(server);
    const viewer = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'v')).token);
    viewer.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'm', Content: 'hi' }));
    await viewer.waitFor((f) => f.RequestId === 'm');
    const text = await scrape(server.url);
    assert.deepEqual(series(text, 'chatstorm_room_connections'), []);
    assert.deepEqual(series(text, 'chatstorm_room_deliveries_total'), []);
    viewer.close();
  } finally {
    await server.stop();
  }
});

test('--metrics-room-labels 1 labels the first room by id, sums the rest as _other, and frees a deleted room\'s series', async () => {
  const server = await startTestServer(['--metrics-room-labels', '1']);
  try {
    const first = await createRoom(server);
    const second = await createRoom(server);
    const a1 = await RawChatSocket.connect(server.wsUrl, (await createToken(server, first.arn, 'a1')).token);
    const a2 = await RawChatSocket.connect(server.wsUrl, (await createToken(server, first.arn, 'a2')).token);
    const b1 = await RawChatSocket.connect(server.wsUrl, (await createToken(server, second.arn, 'b1')).token);
    a1.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'a', Content: 'to first' }));
    b1.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'b', Content: 'to second' }));
    await a2.waitFor((f) => f.RequestId === 'a');
    await b1.waitFor((f) => f.RequestId === 'b');

    const text = await scrape(server.url);
    assert.deepEqual(series(text, 'chatstorm_room_connections').sort(), [
      `chatstorm_room_connections{room="${first.id}"} 2`,
      'chatstorm_room_connections{room="_other"} 1',
    ].sort());
    assert.ok(text.includes(`chatstorm_room_deliveries_total{room="${first.id}",type="MESSAGE"} 2`));
    assert.ok(text.includes('chatstorm_room_deliveries_total{room="_other",type="MESSAGE"} 1'));
    assert.ok(text.includes(`chatstorm_room_publishes_total{room="${first.id}",type="MESSAGE"} 1`));

    await server.client.send(new DeleteRoomCommand({ identifier: first.arn }));
    await a1.waitForClose();
    const after = await scrape(server.url);
    assert.ok(!after.includes(first.id), 'the deleted room left no series behind');
    b1.close();
  } finally {
    await server.stop();
  }
});

test('HTTP moderation of a logged room with no viewers here logs its events without taking a room label', async () => {
  const server = await startTestServer(['--metrics-room-labels', '1']);
  try {
    const configuration = await server.client.send(
      new CreateLoggingConfigurationCommand({ name: 'audit', destinationConfiguration: { s3: { bucketName: 'moderated' } } }),
    );
    const moderated = await createRoom(server, { loggingConfigurationIdentifiers: [configuration.arn!] });
    await server.client.send(new DeleteMessageCommand({ roomIdentifier: moderated.arn, id: 'AbCdEfGhIjKl' }));
    await server.client.send(new DisconnectUserCommand({ roomIdentifier: moderated.arn, userId: 'troll' }));
    await server.client.send(new SendEventCommand({ roomIdentifier: moderated.arn, eventName: 'app:note' }));
    const log = await waitForFile(
      join(server.dataDir, 'logs', 's3', 'moderated', `${moderated.id}.jsonl`),
      (content) => content.split('\n').filter(Boolean).length === 3,
    );
    assert.match(log, /aws:DELETE_MESSAGE[\s\S]*aws:DISCONNECT_USER[\s\S]*app:note/);

    // The one label slot is still free: the next room with a viewer gets its own series.
    const watched = await createRoom(server);
    const viewer = await RawChatSocket.connect(server.wsUrl, (await createToken(server, watched.arn, 'v')).token);
    const text = await scrape(server.url);
    assert.deepEqual(series(text, 'chatstorm_room_connections'), [`chatstorm_room_connections{room="${watched.id}"} 1`]);
    viewer.close();
  } finally {
    await server.stop();
  }
});
