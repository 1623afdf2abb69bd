import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { GetRoomCommand } from '@aws-sdk/client-ivschat';
import { createRoom } from './support/chat.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Slow HTTP senders (slowloris) are cut by chatstorm's body timeout with an answer that says why,
// and never hold up anyone else's requests while they trickle.

const BODY_TIMEOUT_SECONDS = 2;

interface Trickler {
  received: () => string;
  closed: Promise<number>;
  isClosed: () => boolean;
  stop: () => void;
}

/** Sends a CreateRoom head, then its body one byte every 100 ms; `closed` resolves with the ms it lived. */
function trickleBody(server: TestServer): Trickler {
  const started = Date.now();
  const socket: Socket = connect(server.port, '127.0.0.1');
  let text = '';
  let closed = false;
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  socket.on('error', () => {});
  const body = JSON.stringify({ name: 'slow'.repeat(100) });
  let sent = 0;
  const timer = setInterval(() => {
    if (sent < body.length && !socket.destroyed) socket.write(body[sent++]!);
  }, 100);
  socket.once('connect', () => socket.write(`POST /CreateRoom HTTP/1.1\r\nHost: chatstorm\r\nContent-Length: ${body.length}\r\n\r\n`));
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

/** The value of one series in the server's /metrics, e.g. metricValue(server, 'x_total{reason="timeout"}'). */
async function metricValue(server: TestServer, series: string): Promise<number> {
  const text = await (await fetch(server.metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `${series} is exported`);
  return Number(line.slice(series.length + 1));
}

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms))),
  ]);
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
    const slow = trickleBody(server);
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

  test('while twenty slow senders trickle, other clients are answered', async () => {
    const { arn } = await createRoom(server);
    const slow = Array.from({ length: 20 }, () => trickleBody(server));
    try {
      for (let i = 0; i < 10; i++) {
        await server.client.send(new GetRoomCommand({ identifier: arn }));
        await createRoom(server, { name: `served-${i}` });
      }
      const stillOpen = slow.filter((s) => !s.isClosed()).length;
      assert.ok(stillOpen > 0, 'the good requests were answered while slow senders were still connected');
      await within(Promise.all(slow.map((s) => s.closed)), 30_000, 'every slow sender is cut');
      for (const s of slow) assert.match(s.received(), /did not arrive within 2 s/);
      assert.ok((await metricValue(server, 'chatstorm_http_bodies_refused_total{reason="timeout"}')) >= slow.length, 'each cut is counted');
    } finally {
      for (const s of slow) s.stop();
    }
  });
});
