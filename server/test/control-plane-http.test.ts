import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, afterEach, before, describe, test } from 'node:test';
import { GetRoomCommand } from '@aws-sdk/client-ivschat';
import { createRoom } from './support/chat.ts';
import { rawRequest, type RawAnswer } from './support/control-plane.ts';
import { startTestServer, type TestServer } from './support/server.ts';

/** What every error answer carries: a status, the type in x-amzn-errortype and a JSON body saying why. */
function assertApiError(answer: RawAnswer, status: number, type: string): Record<string, unknown> {
  assert.equal(answer.status, status, answer.text);
  assert.equal(answer.errorType, type);
  assert.ok(answer.body, `the body is JSON: ${answer.text}`);
  assert.equal(answer.body.__type, type);
  assert.equal(typeof answer.body.message, 'string');
  assert.ok((answer.body.message as string).length > 0);
  return answer.body;
}

/** Sends raw bytes on a fresh connection and resolves with everything received until the server closes it. */
function rawExchange(server: TestServer, bytes: string, ms = 5000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1', () => socket.write(bytes));
    let received = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no close within ${ms} ms; received ${JSON.stringify(received)}`));
    }, ms);
    socket.on('data', (chunk) => (received += chunk.toString()));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(received);
    });
  });
}

describe('bad input to the control plane over raw HTTP', () => {
  let server: TestServer;
  let roomArn: string;
  before(async () => {
    server = await startTestServer();
    roomArn = (await createRoom(server)).arn;
  });
  // After every bad request the server must still answer, over HTTP and through the SDK.
  afterEach(async () => {
    assert.equal((await rawRequest(server, 'GET', '/healthz')).status, 200);
    assert.equal((await server.client.send(new GetRoomCommand({ identifier: roomArn }))).arn, roomArn);
  });
  after(async () => {
    await server.stop();
  });

  test('a body that is not JSON is a ValidationException saying so', async () => {
    const body = assertApiError(await rawRequest(server, 'POST', '/CreateRoom', '{"name": "unterminated'), 400, 'ValidationException');
    assert.match(body.message as string, /not valid JSON/);
  });

  test('a JSON body that is not an object (array, null, string, number) is a ValidationException', async () => {
    for (const text of ['[{"name":"x"}]', 'null', '"CreateRoom"', '42']) {
      const body = assertApiError(await rawRequest(server, 'POST', '/CreateRoom', text), 400, 'ValidationException');
      assert.match(body.message as string, /JSON object/, text);
    }
  });

  test('fields of the wrong type are a ValidationException listing each field', async () => {
    const body = assertApiError(
      await rawRequest(server, 'POST', '/CreateRoom', JSON.stringify({ name: 7, maximumMessageLength: '500', tags: ['a'], messageReviewHandler: 'x' })),
      400,
      'ValidationException',
    );
    assert.equal(body.reason, 'FIELD_VALIDATION_FAILED');
    assert.deepEqual((body.fieldList as Array<{ name: string }>).map((f) => f.name).sort(), ['maximumMessageLength', 'messageReviewHandler', 'name', 'tags']);
  });

  test('an empty body is an input with no members: CreateRoom makes a default room, GetRoom names the missing identifier', async () => {
    const created = await rawRequest(server, 'POST', '/CreateRoom', '');
    assert.equal(created.status, 200);
    assert.equal(created.body?.maximumMessageLength, 500);
    const body = assertApiError(await rawRequest(server, 'POST', '/GetRoom', ''), 400, 'ValidationException');
    assert.deepEqual((body.fieldList as Array<{ name: string }>).map((f) => f.name), ['identifier']);
  });

  test('a POST without Content-Length or body is answered, not left waiting', async () => {
    const answer = await rawExchange(server, 'POST /GetRoom HTTP/1.1\r\nHost: chatstorm\r\nConnection: close\r\n\r\n');
    assert.match(answer, /^HTTP\/1\.1 400 /);
    assert.match(answer, /x-amzn-errortype: ValidationException/i);
  });

  test('a chunked body is read whole', async () => {
    const json = JSON.stringify({ name: 'chunked' });
    const chunks = `${(10).toString(16)}\r\n${json.slice(0, 10)}\r\n${(json.length - 10).toString(16)}\r\n${json.slice(10)}\r\n0\r\n\r\n`;
    const answer = await rawExchange(server, `POST /CreateRoom HTTP/1.1\r\nHost: chatstorm\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunks}`);
    assert.match(answer, /^HTTP\/1\.1 200 /);
    assert.match(answer, /"name":"chunked"/);
  });

  test('an unknown operation is a ValidationException with reason UNKNOWN_OPERATION', async () => {
    for (const path of ['/CreateChannel', '/', '/createroom', '/CreateRoom/extra', '/tags']) {
      const body = assertApiError(await rawRequest(server, 'POST', path, '{}'), 400, 'ValidationException');
      assert.equal(body.reason, 'UNKNOWN_OPERATION', path);
    }
  });

  test('an operation with the wrong method (GET, PUT, DELETE on a POST operation) is UNKNOWN_OPERATION', async () => {
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const body = assertApiError(await rawRequest(server, method, '/GetRoom'), 400, 'ValidationException');
      assert.equal(body.reason, 'UNKNOWN_OPERATION', method);
      assert.match(body.message as string, new RegExp(`${method} /GetRoom`));
    }
    const put = assertApiError(await rawRequest(server, 'PUT', `/tags/${encodeURIComponent(roomArn)}`, '{}'), 400, 'ValidationException');
    assert.equal(put.reason, 'UNKNOWN_OPERATION');
  });

  test('a body over 256 KiB, even of megabytes, is refused with a ValidationException', async () => {
    const body = assertApiError(
      await rawRequest(server, 'POST', '/CreateRoom', JSON.stringify({ name: 'x', padding: 'p'.repeat(300 * 1024) })),
      400,
      'ValidationException',
    );
    assert.match(body.message as string, /262144 bytes/);
    const huge = assertApiError(await rawRequest(server, 'POST', '/CreateRoom', Buffer.alloc(4 * 1024 * 1024, 0x20)), 400, 'ValidationException');
    assert.match(huge.message as string, /exceeds/);
  });

  test('a body of exactly 256 KiB is read and handled', async () => {
    const json = JSON.stringify({ name: 'near-limit', padding: '' });
    const text = json.replace('"padding":""', `"padding":"${'p'.repeat(256 * 1024 - json.length)}"`);
    assert.equal(Buffer.byteLength(text), 256 * 1024);
    const answer = await rawRequest(server, 'POST', '/CreateRoom', text);
    assert.equal(answer.status, 200, answer.text);
    assert.equal(answer.body?.name, 'near-limit');
  });

  test('a /tags/ path with broken percent-encoding is a ValidationException on resourceArn, for every method', async () => {
    for (const [method, path] of [
      ['GET', '/tags/arn%3Aaws%ZZ'],
      ['POST', '/tags/%E0%A4%A'],
      ['DELETE', '/tags/arn%?tagKeys=a'],
    ] as const) {
      const body = assertApiError(await rawRequest(server, method, path, method === 'POST' ? '{"tags":{"a":"b"}}' : undefined), 400, 'ValidationException');
      assert.deepEqual((body.fieldList as Array<{ name: string }>).map((f) => f.name), ['resourceArn'], `${method} ${path}`);
    }
  });

  test('tag paths without an ARN or UntagResource without tagKeys are ValidationExceptions', async () => {
    assertApiError(await rawRequest(server, 'GET', '/tags/'), 400, 'ValidationException');
    const body = assertApiError(await rawRequest(server, 'DELETE', `/tags/${encodeURIComponent(roomArn)}`), 400, 'ValidationException');
    assert.deepEqual((body.fieldList as Array<{ name: string }>).map((f) => f.name), ['tagKeys']);
  });

  test('bytes that are not UTF-8 inside a name are refused', async () => {
    const bytes = Buffer.concat([Buffer.from('{"name":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}')]);
    assertApiError(await rawRequest(server, 'POST', '/CreateRoom', bytes), 400, 'ValidationException');
  });

  test('deeply nested JSON is refused without a crash', async () => {
    const depth = 50_000;
    assertApiError(await rawRequest(server, 'POST', '/CreateRoom', `{"tags":${'['.repeat(depth)}${']'.repeat(depth)}}`), 400, 'ValidationException');
  });

  test('thousands of invalid entries get a short answer naming the first ones', async () => {
    const tags = Object.fromEntries(Array.from({ length: 5000 }, (_, i) => [`aws:${i}`, 'v']));
    const answer = await rawRequest(server, 'POST', '/CreateRoom', JSON.stringify({ tags }));
    const body = assertApiError(answer, 400, 'ValidationException');
    assert.ok((body.fieldList as unknown[]).length <= 20);
    assert.match(body.message as string, /and \d+ more/);
    assert.ok(answer.text.length < 16 * 1024, `answer of ${answer.text.length} bytes`);
  });

  test('a client that sends half a body and goes away leaves the server serving', async () => {
    const socket = connect(Number(new URL(server.url).port), '127.0.0.1');
    await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
    await new Promise<void>((resolve) => socket.write('POST /CreateRoom HTTP/1.1\r\nHost: chatstorm\r\nContent-Length: 1000\r\n\r\n{"name":"ha', () => resolve()));
    socket.destroy();
  });

  test('every answer, error or not, is JSON with a request id', async () => {
    const answers = [
      await rawRequest(server, 'POST', '/Nope', '{}'),
      await rawRequest(server, 'POST', '/GetRoom', '{}'),
      await rawRequest(server, 'POST', '/GetRoom', JSON.stringify({ identifier: roomArn })),
    ];
    assert.deepEqual(answers.map((a) => a.status), [400, 400, 200]);
    for (const answer of answers) {
      assert.equal(answer.headers['content-type'], 'application/json');
      assert.match(String(answer.headers['x-amzn-requestid']), /^[0-9a-f-]{36}$/);
      assert.ok(answer.body);
    }
  });
});
