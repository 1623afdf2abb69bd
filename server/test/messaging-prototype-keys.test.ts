import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { createRoom, createToken } from './support/chat.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Found by the WebSocket fuzzer: attribute keys that are also names on Object.prototype. JSON.parse
// makes them ordinary own keys; code that copies objects by assignment turns "__proto__" into a
// prototype and loses it. Objects are built from JSON text here, for the same reason.

const attributes = () => JSON.parse('{"__proto__":"p","constructor":"c","toString":"t","k":"v"}') as Record<string, string>;

describe('attribute keys named like Object.prototype members', () => {
  let server: TestServer;
  let handler: Server;
  let handlerUrl: string;
  before(async () => {
    server = await startTestServer(['--review-timeout-ms', '5000']);
    // A review handler that edits the attributes it is given: it keeps them and adds one.
    handler = createServer((req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        const event = JSON.parse(body) as { Attributes: Record<string, string> };
        const edited = JSON.stringify(event.Attributes).replace(/}$/, ',"reviewed":"yes"}');
        res.writeHead(200, { 'content-type': 'application/json' }).end(`{"ReviewResult":"ALLOW","Attributes":${edited}}`);
      });
    });
    await new Promise<void>((resolve) => handler.listen(0, '127.0.0.1', resolve));
    handlerUrl = `http://127.0.0.1:${(handler.address() as AddressInfo).port}/review`;
  });
  after(async () => {
    await server.stop();
    await new Promise<void>((resolve) => handler.close(() => resolve()));
  });

  async function sendAndReceive(roomArn: string) {
    const sender = await RawChatSocket.connect(server.wsUrl, (await createToken(server, roomArn, 'sender')).token);
    const viewer = await RawChatSocket.connect(server.wsUrl, (await createToken(server, roomArn, 'viewer', [])).token);
    try {
      sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'r1', Content: 'hi' }).replace(/}$/, `,"Attributes":${JSON.stringify(attributes())}}`));
      const echoed = await sender.waitFor((f) => f.RequestId === 'r1');
      const delivered = await viewer.waitFor((f) => f.RequestId === 'r1');
      return { echoed, delivered };
    } finally {
      sender.close();
      viewer.close();
    }
  }

  test('SEND_MESSAGE Attributes keyed __proto__, constructor and toString reach sender and viewers unchanged', async () => {
    const { arn } = await createRoom(server);
    const { echoed, delivered } = await sendAndReceive(arn);
    assert.equal(echoed.Type, 'MESSAGE');
    assert.deepEqual(Object.entries(echoed.Attributes as object), Object.entries(attributes()));
    assert.deepEqual(Object.entries(delivered.Attributes as object), Object.entries(attributes()));
  });

  /** A control-plane call with the JSON text as written (the SDK would build it from an object literal). */
  async function call(operation: string, body: string): Promise<Record<string, unknown>> {
    const response = await fetch(`${server.url}/${operation}`, { method: 'POST', body });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as Record<string, unknown>;
  }
  const attributesJson = () => JSON.stringify(attributes());

  test('a chat token whose attributes hold a __proto__ key carries every key to Sender.Attributes', async () => {
    const { arn } = await createRoom(server);
    const { token } = (await call('CreateChatToken', `{"roomIdentifier":${JSON.stringify(arn)},"userId":"u","capabilities":["SEND_MESSAGE"],"attributes":${attributesJson()}}`)) as { token: string };
    const socket = await RawChatSocket.connect(server.wsUrl, token);
    try {
      socket.send('{"Action":"SEND_MESSAGE","RequestId":"t1","Content":"hello"}');
      const message = await socket.waitFor((f) => f.RequestId === 't1');
      assert.deepEqual(Object.entries((message.Sender as { Attributes: object }).Attributes), Object.entries(attributes()));
    } finally {
      socket.close();
    }
  });

  test('SendEvent attributes holding a __proto__ key reach the room with every key', async () => {
    const { arn } = await createRoom(server);
    const viewer = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'viewer', [])).token);
    try {
      await call('SendEvent', `{"roomIdentifier":${JSON.stringify(arn)},"eventName":"app:x","attributes":${attributesJson()}}`);
      const event = await viewer.waitFor((f) => f.EventName === 'app:x');
      assert.deepEqual(Object.entries(event.Attributes as object), Object.entries(attributes()));
    } finally {
      viewer.close();
    }
  });

  test("a review handler's ALLOW whose Attributes keep a __proto__ key is delivered with that key, not silently without it", async () => {
    const { arn } = await createRoom(server, { messageReviewHandler: { uri: handlerUrl, fallbackResult: 'DENY' } });
    const { delivered } = await sendAndReceive(arn);
    assert.equal(delivered.Type, 'MESSAGE');
    assert.deepEqual(Object.entries(delivered.Attributes as object), [...Object.entries(attributes()), ['reviewed', 'yes']]);
  });
});
