import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { RawChatSocket } from '../../server/test/support/raw-socket.ts';
import { startTestServer, type TestServer } from '../../server/test/support/server.ts';
import { scrape, series, waitForDeltas } from './support/metrics-text.ts';

// The dashboards and alerts are only as true as the counters behind them: a scripted session
// against a real server, then /metrics must have moved by exactly what the session did.

let server: TestServer;
const sockets: RawChatSocket[] = [];

async function api<T>(operation: string, body: unknown): Promise<T> {
  const response = await fetch(`${server.url}/${operation}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  assert.equal(response.status, 200, `${operation}: ${response.status} ${await response.clone().text()}`);
  return (await response.json()) as T;
}

async function createRoom(settings: Record<string, unknown> = {}): Promise<string> {
  return (await api<{ arn: string }>('CreateRoom', settings)).arn;
}

async function createToken(roomArn: string, userId: string, capabilities: string[] = []): Promise<string> {
  return (await api<{ token: string }>('CreateChatToken', { roomIdentifier: roomArn, userId, capabilities })).token;
}

async function connect(roomArn: string, userId: string, capabilities: string[] = []): Promise<RawChatSocket> {
  const socket = await RawChatSocket.connect(server.wsUrl, await createToken(roomArn, userId, capabilities));
  sockets.push(socket);
  return socket;
}

/** Counts the bytes of every text frame of a given Type the socket receives from now on. */
function countBytes(socket: RawChatSocket, type: string): { bytes: number } {
  const counted = { bytes: 0 };
  socket.socket.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && (JSON.parse(data.toString()) as { Type?: string }).Type === type) counted.bytes += data.length;
  });
  return counted;
}

function closeAll(list: RawChatSocket[]): Promise<unknown> {
  for (const socket of list) socket.close();
  return Promise.all(list.map((socket) => socket.waitForClose()));
}

const refused = (promise: Promise<unknown>) => assert.rejects(promise, (error: { status?: number }) => error.status === 401);

describe('server /metrics after a scripted session', () => {
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    for (const socket of sockets) socket.close();
    await server.stop();
  });

  test('three viewers joining and leaving move handshakes, tokens and connections by three', async () => {
    const start = await scrape(server.metricsUrl);
    const room = await createRoom();
    const viewers = [await connect(room, 'alice'), await connect(room, 'bob'), await connect(room, 'carol')];
    await waitForDeltas(server.metricsUrl, start, {
      [series('chatstorm_api_requests_total', { operation: 'CreateRoom', status: '200' })]: 1,
      [series('chatstorm_api_requests_total', { operation: 'CreateChatToken', status: '200' })]: 3,
      [series('chatstorm_tokens_created_total')]: 3,
      [series('chatstorm_handshakes_total', { outcome: 'accepted' })]: 3,
      [series('chatstorm_handshake_duration_seconds_count')]: 3,
      [series('chatstorm_tokens_used_total')]: 3,
      [series('chatstorm_connections_opened_total')]: 3,
      [series('chatstorm_connections')]: 3,
    });

    await closeAll(viewers);
    await waitForDeltas(server.metricsUrl, start, {
      [series('chatstorm_connections_closed_total', { reason: 'client_close' })]: 3,
      [series('chatstorm_connections_closed_total', { reason: 'abnormal' })]: 0,
      [series('chatstorm_connections')]: 0,
    });
  });

  test('5 messages to a room of 3 viewers: 5 requests, 5 publishes, 15 deliveries, the bytes the viewers received', async () => {
    const room = await createRoom();
    const alice = await connect(room, 'alice', ['SEND_MESSAGE']);
    const viewers = [alice, await connect(room, 'bob'), await connect(room, 'carol')];
    const received = viewers.map((socket) => countBytes(socket, 'MESSAGE'));
    const start = await scrape(server.metricsUrl);

    for (let i = 1; i <= 5; i++) alice.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: `r${i}`, Content: `message ${i}` }));
    for (const socket of viewers) {
      await socket.waitFor((frame) => frame.Type === 'MESSAGE' && frame.RequestId === 'r5');
      assert.equal(socket.frames.filter((frame) => frame.Type === 'MESSAGE').length, 5);
    }
    const bytes = received.reduce((sum, socket) => sum + socket.bytes, 0);
    assert.ok(bytes > 15 * 100, `each MESSAGE frame is well over 100 bytes, got ${bytes} in all`);

    await waitForDeltas(server.metricsUrl, start, {
      [series('chatstorm_requests_total', { action: 'SEND_MESSAGE', outcome: 'ok' })]: 5,
      [series('chatstorm_requests_total', { action: 'SEND_MESSAGE', outcome: 'error' })]: 0,
      [series('chatstorm_fanout_publishes_total', { type: 'MESSAGE' })]: 5,
      [series('chatstorm_fanout_deliveries_total', { type: 'MESSAGE' })]: 15,
      [series('chatstorm_fanout_delivered_bytes_total', { type: 'MESSAGE' })]: bytes,
      [series('chatstorm_fanout_deliveries_total', { type: 'EVENT' })]: 0,
      [series('chatstorm_fanout_publish_duration_seconds_count')]: 5,
      [series('chatstorm_message_processing_duration_seconds_count')]: 5,
      [series('chatstorm_error_frames_total', { code: '400' })]: 0,
    });
    await closeAll(viewers);
  });

  test('refused handshakes are counted by outcome and the refused tokens by reason', async () => {
    const room = await createRoom();
    const token = await createToken(room, 'dave');
    const start = await scrape(server.metricsUrl);

    await refused(RawChatSocket.connect(server.wsUrl, undefined));
    await refused(RawChatSocket.connect(server.wsUrl, 'not-a-chat-token'));
    const dave = await RawChatSocket.connect(server.wsUrl, token);
    sockets.push(dave);
    await refused(RawChatSocket.connect(server.wsUrl, token));

    await waitForDeltas(server.metricsUrl, start, {
      [series('chatstorm_handshakes_total', { outcome: 'missing_token' })]: 1,
      [series('chatstorm_handshakes_total', { outcome: 'invalid_token' })]: 1,
      [series('chatstorm_handshakes_total', { outcome: 'reused_token' })]: 1,
      [series('chatstorm_handshakes_total', { outcome: 'accepted' })]: 1,
      [series('chatstorm_tokens_rejected_total', { reason: 'missing' })]: 1,
      [series('chatstorm_tokens_rejected_total', { reason: 'invalid' })]: 1,
      [series('chatstorm_tokens_rejected_total', { reason: 'reused' })]: 1,
      [series('chatstorm_tokens_used_total')]: 1,
      [series('chatstorm_connections_opened_total')]: 1,
    });
    await closeAll([dave]);
  });

  test('ERROR frames are counted by code: 400 malformed, 403 missing capability, 429 room rate limit', async () => {
    const room = await createRoom({ maximumMessageRatePerSecond: 1 });
    const alice = await connect(room, 'alice', ['SEND_MESSAGE']);
    const bob = await connect(room, 'bob');
    const start = await scrape(server.metricsUrl);

    bob.send('this is not JSON');
    assert.equal((await bob.waitFor((frame) => frame.Type === 'ERROR')).ErrorCode, 400);
    bob.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'denied', Content: 'hi' }));
    assert.equal((await bob.waitFor((frame) => frame.RequestId === 'denied')).ErrorCode, 403);

    // Three sends in one burst against a room budget of one per second: the first passes, and
    // the rest are refused unless a whole second passed in between, so the count is read back.
    for (const id of ['b1', 'b2', 'b3']) alice.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: id, Content: id }));
    const replies = await Promise.all(['b1', 'b2', 'b3'].map((id) => alice.waitFor((frame) => frame.RequestId === id)));
    const limited = replies.filter((frame) => frame.Type === 'ERROR' && frame.ErrorCode === 429).length;
    const delivered = replies.filter((frame) => frame.Type === 'MESSAGE').length;
    assert.equal(limited + delivered, 3);
    assert.ok(limited >= 1, 'a burst of three at one message per second must be rate-limited at least once');

    await waitForDeltas(server.metricsUrl, start, {
      [series('chatstorm_error_frames_total', { code: '400' })]: 1,
      [series('chatstorm_error_frames_total', { code: '403' })]: 1,
      [series('chatstorm_error_frames_total', { code: '429' })]: limited,
      [series('chatstorm_error_frames_total', { code: '500' })]: 0,
      [series('chatstorm_requests_total', { action: 'invalid', outcome: 'error' })]: 1,
      [series('chatstorm_requests_total', { action: 'SEND_MESSAGE', outcome: 'error' })]: 1 + limited,
      [series('chatstorm_requests_total', { action: 'SEND_MESSAGE', outcome: 'ok' })]: delivered,
      [series('chatstorm_rate_limited_total', { limit: 'room_message_rate' })]: limited,
      [series('chatstorm_fanout_deliveries_total', { type: 'MESSAGE' })]: 2 * delivered,
    });
    await closeAll([alice, bob]);
  });

  test('DisconnectUser publishes one EVENT to the room and closes that user as disconnect_user', async () => {
    const room = await createRoom();
    const viewers = [await connect(room, 'alice'), await connect(room, 'bob'), await connect(room, 'carol')];
    const [alice, bob, carol] = viewers as [RawChatSocket, RawChatSocket, RawChatSocket];
    const start = await scrape(server.metricsUrl);

    await api('DisconnectUser', { roomIdentifier: room, userId: 'bob', reason: 'spam' });
    assert.equal((await bob.waitForClose()).code, 1000);
    for (const socket of [alice, carol]) await socket.waitFor((frame) => frame.EventName === 'aws:DISCONNECT_USER');
    await closeAll([alice, carol]);

    await waitForDeltas(server.metricsUrl, start, {
      [series('chatstorm_api_requests_total', { operation: 'DisconnectUser', status: '200' })]: 1,
      [series('chatstorm_fanout_publishes_total', { type: 'EVENT' })]: 1,
      [series('chatstorm_fanout_deliveries_total', { type: 'EVENT' })]: 3,
      [series('chatstorm_connections_closed_total', { reason: 'disconnect_user' })]: 1,
      [series('chatstorm_connections_closed_total', { reason: 'client_close' })]: 2,
      [series('chatstorm_connections')]: -3,
    });
  });
});
