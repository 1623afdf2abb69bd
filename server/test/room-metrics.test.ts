import assert from 'node:assert/strict';
import { DeleteRoomCommand } from '@aws-sdk/client-ivschat';
import { test } from 'node:test';
import { createRoom, createToken } from './support/chat.ts';
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
