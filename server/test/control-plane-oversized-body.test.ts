import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CreateRoomCommand, ValidationException } from '@aws-sdk/client-ivschat';
import { createRoom } from './support/chat.ts';
import { expectApiError } from './support/control-plane.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { metricValue, within } from './support/within.ts';

// An oversized body is refused only once the client has finished sending it (read and thrown
// away, within a bound of bytes and time): answering and closing mid-upload resets the
// connection, and the client sees EPIPE/ECONNRESET instead of the ValidationException.

const UPLOAD_CLIENT = fileURLToPath(new URL('./support/upload-client.ts', import.meta.url));

/** Opens a raw connection and collects everything the server sends until it closes. */
async function rawConnection(server: TestServer): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect(server.port, '127.0.0.1');
  let text = '';
  socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
  // Writes into a connection the server has cut fail with EPIPE/ECONNRESET: expected here.
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await once(socket, 'connect');
  return { socket, received: () => text, closed };
}

describe('an oversized request body gets its ValidationException through to the client', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(['--http-body-timeout-seconds', '2']);
  });
  after(async () => {
    await server.stop();
  });

  test('Node fetch and the AWS SDK (a 5 MB name, 5 MB of tags) in another process each read the 400 ValidationException', async () => {
    const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', UPLOAD_CLIENT, server.url, '5', '4'], { timeout: 120_000 });
    const outcomes = JSON.parse(stdout) as string[];
    assert.deepEqual(outcomes, Array.from({ length: 4 }, () => ['fetch 400 ValidationException', 'sdk ValidationException', 'sdk-tags ValidationException']).flat());
  });

  test('the SDK error names the limit, and the same connection then serves the next request', async () => {
    const error = await expectApiError(server.client.send(new CreateRoomCommand({ name: 'n'.repeat(5 * 1024 * 1024) })), ValidationException);
    assert.equal(error.$metadata.httpStatusCode, 400);
    assert.match(error.message, /exceeds 262144 bytes/);
    await createRoom(server, { name: 'after-the-big-one' });
  });

  test('a body past the drain bound (16 MiB over the limit) is cut before the client has sent it all, and the server serves on', async () => {
    const { socket, received, closed } = await rawConnection(server);
    // 100 MiB: uWebSockets.js itself drops a Content-Length of ten digits or more (engine-edges.test.ts).
    socket.write('POST /CreateRoom HTTP/1.1\r\nHost: chatstorm\r\nContent-Length: 104857600\r\n\r\n');
    const chunk = Buffer.alloc(1024 * 1024, 0x20);
    let sent = 0;
    // Stops at 64 MiB if never cut; the server must cut at about 16.25 MiB.
    while (!socket.destroyed && sent < 64 * chunk.length) {
      if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve).once('close', resolve));
      sent += chunk.length;
    }
    await within(closed, 10_000, 'the server closes the connection');
    assert.ok(sent < 64 * chunk.length, `the connection stayed open for all ${sent} bytes`);
    // Past the bound the client may lose the answer to the reset: that is the price of the bound.
    if (received() !== '') assert.match(received(), /^HTTP\/1\.1 400 [^]*exceeds 262144 bytes/);
    await createRoom(server, { name: 'still-serving' });
    assert.ok((await metricValue(server, 'chatstorm_http_bodies_refused_total{reason="too_large_cut"}')) >= 1, 'the cut is counted');
    assert.ok((await metricValue(server, 'chatstorm_http_bodies_refused_total{reason="too_large"}')) >= 8, 'the drained refusals are counted');
  });

  test('an oversized body that stops arriving is answered and cut at the body timeout', async () => {
    const { socket, received, closed } = await rawConnection(server);
    socket.write('POST /CreateRoom HTTP/1.1\r\nHost: chatstorm\r\nContent-Length: 10000000\r\n\r\n');
    socket.write(Buffer.alloc(300 * 1024, 0x20));
    // --http-body-timeout-seconds 2; the bound is generous for a loaded machine.
    await within(closed, 15_000, 'the server closes the stalled connection');
    assert.match(received(), /^HTTP\/1\.1 400 /);
    assert.match(received(), /exceeds 262144 bytes/);
  });

  test('an unknown operation with a large body is answered with UNKNOWN_OPERATION, not a reset', async () => {
    const response = await fetch(`${server.url}/CreateChannel`, { method: 'POST', body: Buffer.alloc(3 * 1024 * 1024, 0x20), signal: AbortSignal.timeout(30_000) });
    assert.equal(response.status, 400);
    assert.equal(((await response.json()) as { reason: string }).reason, 'UNKNOWN_OPERATION');
  });
});
