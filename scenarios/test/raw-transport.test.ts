import assert from 'node:assert/strict';
import net from 'node:net';
import { describe, it } from 'node:test';
import type { SocketEvents } from '../lib/ports.ts';
import { RawTransport } from '../runner/raw-transport.ts';
import { waitFor, within } from './support/wait-for.ts';

// The bare-socket WebSocket client against a scripted server that writes exact bytes, so frame
// boundaries, fragments, pings and close codes are what the test says they are.

function frame(opcode: number, payload: Buffer | string, fin = true): Buffer {
  const body = Buffer.from(payload);
  const header = body.length < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, body.length]) : Buffer.from([(fin ? 0x80 : 0) | opcode, 126, body.length >> 8, body.length & 255]);
  return Buffer.concat([header, body]);
}

/** Reads one masked client frame. */
function unmask(data: Buffer): { opcode: number; payload: Buffer } {
  const length = data[1]! & 0x7f;
  const mask = data.subarray(2, 6);
  const payload = Buffer.from(data.subarray(6, 6 + length).map((b, k) => b ^ mask[k & 3]!));
  assert.ok(data[1]! & 0x80, 'client frames are masked');
  return { opcode: data[0]! & 0x0f, payload };
}

interface Scripted {
  url: string;
  /** Resolves with the server side of the first connection, once the upgrade request is in. */
  connection: Promise<{ socket: net.Socket; request: string }>;
  close(): void;
}

async function scriptedServer(): Promise<Scripted> {
  let accept!: (c: { socket: net.Socket; request: string }) => void;
  const connection = new Promise<{ socket: net.Socket; request: string }>((resolve) => (accept = resolve));
  const server = net.createServer((socket) => {
    let request = '';
    const onData = (d: Buffer) => {
      request += d.toString('latin1');
      if (!request.includes('\r\n\r\n')) return;
      socket.off('data', onData);
      accept({ socket, request });
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `ws://127.0.0.1:${(server.address() as net.AddressInfo).port}/`, connection, close: () => server.close() };
}

function recorder() {
  const seen: string[] = [];
  let resolveClose!: (v: { code: number; refused: boolean }) => void;
  const closed = new Promise<{ code: number; refused: boolean }>((resolve) => (resolveClose = resolve));
  let resolveOpen!: () => void;
  const opened = new Promise<void>((resolve) => (resolveOpen = resolve));
  const events: SocketEvents = {
    onOpen: () => resolveOpen(),
    onMessage: (data) => seen.push(Buffer.from(data as Uint8Array).toString()),
    onClose: (code, refused) => resolveClose({ code, refused }),
  };
  return { seen, opened, closed, events };
}

const ACCEPT = 'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Protocol: tok\r\n\r\n';

describe('raw transport', () => {
  it('sends the token as the only subprotocol and reads frames however the bytes are split', async (t) => {
    const server = await scriptedServer();
    t.after(() => server.close());
    const r = recorder();
    new RawTransport().open(server.url, 'tok', r.events);
    const { socket, request } = await within(server.connection, 'the client’s upgrade request');
    assert.match(request, /^GET \/ HTTP\/1\.1\r\n/);
    assert.match(request, /\r\nSec-WebSocket-Protocol: tok\r\n/);
    const long = 'x'.repeat(300);
    // Handshake and the first frame in one write, then frames cut mid-header and mid-payload.
    const bytes = Buffer.concat([Buffer.from(ACCEPT), frame(1, 'one'), frame(1, long), frame(1, 'two'), frame(1, 'three')]);
    const cuts = [ACCEPT.length + 3, ACCEPT.length + 6, ACCEPT.length + 100, bytes.length - 2];
    let at = 0;
    for (const cut of [...cuts, bytes.length]) {
      socket.write(bytes.subarray(at, cut));
      at = cut;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await within(r.opened, 'the client to open');
    await waitFor(() => r.seen.length >= 4, () => `4 frames (got ${JSON.stringify(r.seen)})`);
    assert.deepEqual(r.seen, ['one', long, 'two', 'three']);
    socket.destroy();
    assert.equal((await within(r.closed, 'the close after the server dropped the socket')).code, 1006);
  });

  it('joins a fragmented message, answers a ping with a masked pong, and reports the server’s close code', async (t) => {
    const server = await scriptedServer();
    t.after(() => server.close());
    const r = recorder();
    new RawTransport().open(server.url, 'tok', r.events);
    const { socket } = await within(server.connection, 'the client’s upgrade request');
    const fromClient: Buffer[] = [];
    socket.on('data', (d: Buffer) => fromClient.push(d));
    socket.write(Buffer.concat([Buffer.from(ACCEPT), frame(1, 'hel', false), frame(9, 'are you there'), frame(0, 'lo', true)]));
    await waitFor(() => r.seen.length >= 1 && fromClient.length >= 1, 'the joined message and the pong');
    assert.deepEqual(r.seen, ['hello']);
    const pong = unmask(Buffer.concat(fromClient));
    assert.equal(pong.opcode, 0xa);
    assert.equal(pong.payload.toString(), 'are you there');

    fromClient.length = 0;
    const close = Buffer.alloc(2);
    close.writeUInt16BE(4001);
    socket.write(frame(8, close));
    const result = await within(r.closed, 'the close after the server’s close frame');
    assert.deepEqual(result, { code: 4001, refused: false });
    const echoed = unmask(Buffer.concat(fromClient));
    assert.equal(echoed.opcode, 0x8, 'the close was answered');
    assert.equal(echoed.payload.readUInt16BE(0), 4001);
  });

  it('sends masked text frames and closes with 1000 from our side', async (t) => {
    const server = await scriptedServer();
    t.after(() => server.close());
    const r = recorder();
    const ws = new RawTransport().open(server.url, 'tok', r.events);
    const { socket } = await within(server.connection, 'the client’s upgrade request');
    const fromClient: Buffer[] = [];
    socket.on('data', (d: Buffer) => fromClient.push(d));
    socket.write(ACCEPT);
    await within(r.opened, 'the client to open');
    ws.send('{"Action":"SEND_MESSAGE"}');
    await waitFor(() => fromClient.length >= 1, 'the client’s text frame');
    assert.deepEqual(unmask(Buffer.concat(fromClient)), { opcode: 1, payload: Buffer.from('{"Action":"SEND_MESSAGE"}') });
    fromClient.length = 0;
    ws.close();
    await waitFor(() => fromClient.length >= 1, 'the client’s close frame');
    const close = unmask(Buffer.concat(fromClient));
    assert.equal(close.opcode, 8);
    assert.equal(close.payload.readUInt16BE(0), 1000);
    const reply = Buffer.alloc(2);
    reply.writeUInt16BE(1000);
    socket.end(frame(8, reply));
    assert.deepEqual(await within(r.closed, 'the close after the server answered ours'), { code: 1000, refused: false });
  });

  it('reports an upgrade answered with anything but 101 as refused', async (t) => {
    const server = await scriptedServer();
    t.after(() => server.close());
    const r = recorder();
    new RawTransport().open(server.url, 'used-token', r.events);
    const { socket } = await within(server.connection, 'the client’s upgrade request');
    socket.end('HTTP/1.1 401 Unauthorized\r\ncontent-length: 0\r\n\r\n');
    assert.deepEqual(await within(r.closed, 'the close after a 401 to the upgrade'), { code: 1006, refused: true });
  });

  it('counts MESSAGE frames and their bytes from the framing and hands on only every Nth of them, and every other frame', async (t) => {
    const server = await scriptedServer();
    t.after(() => server.close());
    const r = recorder();
    const count = { decodeEvery: 3, frames: 0, bytes: 0 };
    const transport = new RawTransport();
    transport.open(server.url, 'tok', { ...r.events, receiveCount: count });
    const { socket } = await within(server.connection, 'the client’s upgrade request');
    const messages = Array.from({ length: 10 }, (_, k) => `{"Type":"MESSAGE","Id":"${String(k).padStart(12, '0')}","Content":"${'x'.repeat(k === 4 ? 300 : k)}"}`);
    const event = '{"Type":"EVENT","EventName":"aws:DELETE_MESSAGE"}';
    const frames = messages.map((m) => frame(1, m));
    frames.splice(5, 0, frame(1, event));
    const bytes = Buffer.concat([Buffer.from(ACCEPT), ...frames]);
    // Cut mid-header and mid-payload: a frame split over reads is counted once.
    for (const [a, b] of [[0, ACCEPT.length + 1], [ACCEPT.length + 1, ACCEPT.length + 40], [ACCEPT.length + 40, bytes.length]] as const) {
      socket.write(bytes.subarray(a, b));
    }
    await waitFor(() => count.frames === 10 && r.seen.length === 4, () => `10 frames counted and 4 handed on (counted ${count.frames}, handed on ${JSON.stringify(r.seen)})`);
    assert.equal(count.bytes, messages.reduce((sum, m) => sum + Buffer.byteLength(m), 0));
    assert.deepEqual(r.seen, [messages[2], event, messages[5], messages[8]]);
    assert.deepEqual(transport.takeTotals(), { frames: 10, bytes: count.bytes, decoded: 3 });
    socket.destroy();
    await within(r.closed, 'the close after the server dropped the socket');
  });
});
