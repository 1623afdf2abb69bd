import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Socket } from 'node:net';
import { DISCONNECT_REASONS } from '../src/messaging/disconnect-reasons.ts';
import { createRoom, createToken } from './support/chat.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer } from './support/server.ts';

async function metric(url: string, line: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = new RegExp(`^${line.source} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

test('a viewer that stops reading is cut at the backpressure limit while the others get every message', async () => {
  // The policy samples once a second and cuts at the limit; uWS cuts at twice it. A sender
  // slower than one limit per second therefore always meets a sample inside [limit, 2 × limit).
  const limit = 8 * 1024 * 1024;
  const bytesPerSecond = 4 * 1024 * 1024;
  // The time rule (--slow-consumer-ms) is put out of reach: this test proves the byte rule.
  const server = await startTestServer(['--bench', '--max-backpressure-bytes', String(limit), '--slow-consumer-ms', '600000']);
  try {
    const { arn } = await createRoom(server, { maximumMessageRatePerSecond: 100_000 });
    const slow = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'slow', [])).token);
    const others = await Promise.all(
      ['healthy-1', 'healthy-2', 'healthy-3'].map(async (user) => RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, user, [])).token)),
    );
    const sender = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'sender')).token);
    // Stop reading: the kernel's socket buffers fill first (up to tens of MB on loopback), then
    // the server's own send buffer for this socket, which the slow-consumer policy watches.
    (slow.socket as unknown as { _socket: Socket })._socket.pause();

    let sent = 0;
    const content = 'y'.repeat(400);
    const perTick = Math.round(bytesPerSecond / 100 / 560);
    const sending = setInterval(() => {
      for (let i = 0; i < perTick; i++) sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: String(sent++), Content: content }));
    }, 10);
    let maxBuffered = 0;
    try {
      const deadline = Date.now() + 60_000;
      while ((await metric(server.url, /chatstorm_slow_consumers_total\{action="closed"\}/)) < 1) {
        assert.ok(Date.now() < deadline, `not cut after ${sent} messages`);
        maxBuffered = Math.max(maxBuffered, await metric(server.url, /chatstorm_backpressure_buffered_bytes/));
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      clearInterval(sending);
    }
    assert.ok(maxBuffered < 2 * limit, `the server buffered less than twice the limit (saw ${maxBuffered} bytes)`);
    assert.equal(await metric(server.url, /chatstorm_connections_closed_total\{reason="slow_consumer"\}/), 1);
    assert.equal(await metric(server.url, /chatstorm_connections_closed_total\{reason="abnormal"\}/), 0);

    const last = String(sent - 1);
    for (const healthy of others) {
      await healthy.waitFor((f) => f.RequestId === last, 20_000);
      const received = healthy.frames.filter((f) => f.Type === 'MESSAGE').map((f) => Number(f.RequestId));
      assert.deepEqual(received, Array.from({ length: sent }, (_, i) => i), 'each other viewer received every message, in order, in spite of the slow one');
      assert.equal(healthy.closeCode, undefined, 'and is still connected');
    }

    (slow.socket as unknown as { _socket: Socket })._socket.resume();
    const { code } = await slow.waitForClose(20_000);
    assert.equal(code, 1006, 'cut like a broken connection, so the official SDK reconnects');
    assert.equal(code, DISCONNECT_REASONS.slow_consumer.code, "the close code the README's table documents");
    for (const healthy of others) healthy.close();
    sender.close();
  } finally {
    await server.stop();
  }
});

test('while a send buffer fills, the slow-consumer policy samples ten times a second instead of once, so its cut follows the limit closely', async () => {
  // The buffer grows from an eighth of the limit (past where the monitor hurries) for 1.5 s, slower
  // than it would take to reach the limit; each new sample shows as a new value of the gauge.
  const limit = 16 * 1024 * 1024;
  const server = await startTestServer(['--bench', '--max-backpressure-bytes', String(limit), '--slow-consumer-ms', '600000']);
  try {
    const { arn } = await createRoom(server, { maximumMessageRatePerSecond: 100_000 });
    const slow = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'slow', [])).token);
    const sender = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'sender')).token);
    (slow.socket as unknown as { _socket: Socket })._socket.pause();
    const content = 'y'.repeat(400);
    let sent = 0;
    // About 8 MiB/s: past the kernel's buffers within a few seconds, then into the server's.
    const sending = setInterval(() => {
      for (let i = 0; i < 150; i++) sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: String(sent++), Content: content }));
    }, 10);
    try {
      const gauge = () => metric(server.url, /chatstorm_backpressure_buffered_bytes/);
      const deadline = Date.now() + 60_000;
      while ((await gauge()) < limit / 8) {
        assert.ok(Date.now() < deadline, `the server never buffered ${limit / 8} bytes for the paused viewer (sent ${sent})`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      // From here the buffer keeps growing: a new sample is a new value (or 0 once cut).
      const seen = new Set<number>();
      const until = Date.now() + 1500;
      while (Date.now() < until) {
        seen.add(await gauge());
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      // Calm pace: at most 2–3 distinct values in 1.5 s; hurried: about 15 (fewer on a loaded machine).
      assert.ok(seen.size >= 5, `the gauge took ${seen.size} values in 1.5 s of a filling buffer: ${[...seen].join(', ')}`);
    } finally {
      clearInterval(sending);
    }
    sender.close();
    slow.socket.terminate();
  } finally {
    await server.stop();
  }
});

test('a viewer whose send buffer stays behind for --slow-consumer-ms is cut long before the byte limit, while a reading viewer gets every message', async () => {
  // Behind means a sixteenth of the limit (1 MiB here) or more. At about 4 MiB/s the paused
  // viewer's server-side buffer passes 1 MiB once the kernel's buffers are full; the byte limit
  // (16 MiB) is four seconds of sending further, the time rule 1 s.
  const limit = 16 * 1024 * 1024;
  const slowConsumerMs = 1000;
  const server = await startTestServer(['--bench', '--max-backpressure-bytes', String(limit), '--slow-consumer-ms', String(slowConsumerMs)]);
  try {
    const { arn } = await createRoom(server, { maximumMessageRatePerSecond: 100_000 });
    const slow = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'slow', [])).token);
    const reader = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'reader', [])).token);
    const sender = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'sender')).token);
    (slow.socket as unknown as { _socket: Socket })._socket.pause();
    const content = 'y'.repeat(400);
    let sent = 0;
    const sending = setInterval(() => {
      for (let i = 0; i < 75; i++) sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: String(sent++), Content: content }));
    }, 10);
    let maxBuffered = 0;
    let behindAt: number | undefined;
    try {
      const deadline = Date.now() + 60_000;
      while ((await metric(server.url, /chatstorm_slow_consumers_total\{action="closed"\}/)) < 1) {
        assert.ok(Date.now() < deadline, `not cut after ${sent} messages (largest buffer seen ${maxBuffered} bytes)`);
        const buffered = await metric(server.url, /chatstorm_backpressure_buffered_bytes/);
        maxBuffered = Math.max(maxBuffered, buffered);
        if (buffered >= limit / 16) behindAt ??= Date.now();
        // Generous for a loaded machine: the rule's time, one calm sampling interval, and slack.
        if (behindAt !== undefined) assert.ok(Date.now() - behindAt < slowConsumerMs + 5000, `still connected ${Date.now() - behindAt} ms after its buffer fell behind`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      clearInterval(sending);
    }
    assert.ok(maxBuffered < limit / 2, `cut by the time rule, long before the byte limit (largest buffer seen ${maxBuffered} bytes)`);
    assert.equal(await metric(server.url, /chatstorm_connections_closed_total\{reason="slow_consumer"\}/), 1);

    const last = String(sent - 1);
    await reader.waitFor((f) => f.RequestId === last, 20_000);
    const received = reader.frames.filter((f) => f.Type === 'MESSAGE').map((f) => Number(f.RequestId));
    assert.deepEqual(received, Array.from({ length: sent }, (_, i) => i), 'the reading viewer received every message, in order');
    assert.equal(reader.closeCode, undefined, 'and is still connected');

    (slow.socket as unknown as { _socket: Socket })._socket.resume();
    const { code } = await slow.waitForClose(20_000);
    assert.equal(code, DISCONNECT_REASONS.slow_consumer.code, "closed with the slow_consumer close code of the README's table");
    reader.close();
    sender.close();
  } finally {
    await server.stop();
  }
});
