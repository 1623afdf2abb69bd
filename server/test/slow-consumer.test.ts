import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Socket } from 'node:net';
import { createRoom, createToken } from './support/chat.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer } from './support/server.ts';

async function metric(url: string, line: RegExp): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const match = new RegExp(`^${line.source} (\\d+(?:\\.\\d+)?)$`, 'm').exec(text);
  return match ? Number(match[1]) : NaN;
}

test('a viewer that stops reading is disconnected at the backpressure limit while the others get every message', async () => {
  const limit = 256 * 1024;
  const server = await startTestServer(['--bench', '--max-backpressure-bytes', String(limit)]);
  try {
    const { arn } = await createRoom(server, { maximumMessageRatePerSecond: 100_000 });
    const slow = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'slow', [])).token);
    const healthy = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'healthy', [])).token);
    const sender = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'sender')).token);
    // Stop reading: the kernel buffers fill, then the server's send buffer for this socket.
    (slow.socket as unknown as { _socket: Socket })._socket.pause();

    let sent = 0;
    let maxBuffered = 0;
    const deadline = Date.now() + 30_000;
    // A few MB/s: loopback kernel buffers absorb tens of MB before the server's own buffer grows,
    // and the fill must span the monitor's once-a-second sample for the close to be labelled.
    for (let round = 0; ; round++) {
      if (round % 10 === 0) {
        if ((await metric(server.url, /chatstorm_slow_consumers_total\{action="closed"\}/)) >= 1) break;
        maxBuffered = Math.max(maxBuffered, await metric(server.url, /chatstorm_backpressure_buffered_bytes/));
      }
      assert.ok(Date.now() < deadline, `not disconnected after ${sent} messages`);
      for (let i = 0; i < 50; i++) {
        sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: String(sent++), Content: 'y'.repeat(400) }));
      }
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    assert.ok(maxBuffered <= 3 * limit, `server-side buffering stayed bounded (saw ${maxBuffered} bytes)`);
    assert.equal(await metric(server.url, /chatstorm_connections_closed_total\{reason="slow_consumer"\}/), 1);

    const last = String(sent - 1);
    await healthy.waitFor((f) => f.RequestId === last, 10_000);
    const received = healthy.frames.filter((f) => f.Type === 'MESSAGE').length;
    assert.equal(received, sent, 'the healthy viewer received every message, in spite of the slow one');

    (slow.socket as unknown as { _socket: Socket })._socket.resume();
    const { code } = await slow.waitForClose(10_000);
    assert.equal(code, 1006, 'uWS cuts a slow consumer without a close handshake');
    healthy.close();
    sender.close();
  } finally {
    await server.stop();
  }
});
