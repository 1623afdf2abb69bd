import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { GetRoomCommand } from '@aws-sdk/client-ivschat';
import { createRoom } from './support/chat.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { metricValue, within } from './support/within.ts';

// Slow HTTP senders (slowloris) are cut by chatstorm's body timeout with an answer that says why,
// and never hold up anyone else's requests while they trickle.

const BODY_TIMEOUT_SECONDS = 2;

interface Trickler {
  received: () => string;
  closed: Promise<number>;
  isClosed: () => boolean;
  stop: () => void;
}

/**
 * Sends a CreateRoom request one byte every 100 ms: its body (after the whole head), or its head
 * itself. `closed` resolves with the ms the connection lived.
 */
function trickle(server: TestServer, part: 'body' | 'head' = 'body'): Trickler {
  const started = Date.now();
  const socket: Socket = connect(server.port, '127.0.0.1');
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => {});
  const body = JSON.stringify({ name: 'slow'.repeat(100) });
  const head = `POST /CreateRoom HTTP/1.1\r\nHost: chatstorm\r\nContent-Length: ${body.length}\r\n\r\n`;
  const trickled = part === 'body' ? body : head + body;
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < trickled.length && !socket.destroyed) socket.write(trickled[sent++]!);
  }, 100);
  if (part === 'body') socket.once('connect', () => socket.write(head));
  return {
    received: () => text,
    isClosed: () => closed,
    closed: new Promise((resolve) =>
      socket.once('close', () => {
        closed = true;
        clearInterval(timer);
        resolve(Date.now() - started);
      }),
    ),
    stop: () => {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

describe(`slow HTTP senders are cut by --http-body-timeout-seconds ${BODY_TIMEOUT_SECONDS}`, () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(['--http-body-timeout-seconds', String(BODY_TIMEOUT_SECONDS)]);
  });
  after(async () => {
    await server.stop();
  });

  test('a client trickling its body a byte at a time is answered with a ValidationException naming the timeout, then cut', async () => {
    const slow = trickle(server);
    try {
      // uWebSockets.js's own cut (about 10-12 s, silent) would come later and say nothing.
      const lived = await within(slow.closed, 30_000, 'the slow sender is cut');
      assert.match(slow.received(), /^HTTP\/1\.1 400 /);
      assert.match(slow.received(), /x-amzn-errortype: ValidationException/i);
      assert.match(slow.received(), /did not arrive within 2 s/);
      assert.match(slow.received(), /Connection: close/i);
      assert.ok(lived >= BODY_TIMEOUT_SECONDS * 1000 - 100, `cut after ${lived} ms, before the timeout`);
    } finally {
      slow.stop();
    }
  });

  test('while twenty slow senders trickle bodies and twenty trickle heads, other clients are answered', async () => {
    const { arn } = await createRoom(server);
    const slow = Array.from({ length: 20 }, () => trickle(server));
    // Heads are uWebSockets.js's to time out (about 10-12 s, engine-edges.test.ts): here they only load the server.
    const slowHeads = Array.from({ length: 20 }, () => trickle(server, 'head'));
    try {
      for (let i = 0; i < 10; i++) {
        await server.client.send(new GetRoomCommand({ identifier: arn }));
        await createRoom(server, { name: `served-${i}` });
      }
      assert.ok(slow.some((s) => !s.isClosed()), 'the good requests were answered while slow senders were still connected');
      assert.ok(slowHeads.every((s) => !s.isClosed()), 'the good requests were answered while every slow head was still connected');
      await within(Promise.all(slow.map((s) => s.closed)), 30_000, 'every slow sender is cut');
      for (const s of slow) assert.match(s.received(), /did not arrive within 2 s/);
      assert.ok((await metricValue(server, 'chatstorm_http_bodies_refused_total{reason="timeout"}')) >= slow.length, 'each cut is counted');
    } finally {
      for (const s of [...slow, ...slowHeads]) s.stop();
    }
  });
});
