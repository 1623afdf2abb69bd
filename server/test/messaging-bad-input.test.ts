import assert from 'node:assert/strict';
import { DeleteRoomCommand } from '@aws-sdk/client-ivschat';
import { after, before, describe, test } from 'node:test';
import { createRoom, createToken } from './support/chat.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer, type TestServer } from './support/server.ts';

type Frame = Record<string, unknown>;
const isError = (requestId?: string) => (f: Frame) => f.Type === 'ERROR' && (requestId === undefined || f.RequestId === requestId);

describe('the WebSocket handshake', () => {
  let server: TestServer;
  let roomArn: string;
  before(async () => {
    server = await startTestServer(['--token-lifetime-seconds', '1']);
    roomArn = (await createRoom(server)).arn;
  });
  after(() => server.stop());

  const refusal = async (token: string | undefined) => {
    const error = await RawChatSocket.connect(server.wsUrl, token).then(
      (socket) => {
        socket.close();
        assert.fail('the upgrade was accepted');
      },
      (e: { status: number; body: string }) => e,
    );
    return { status: error.status, message: (JSON.parse(error.body) as { message: string }).message };
  };

  test('a valid token is echoed as the subprotocol', async () => {
    const { token } = await createToken(server, roomArn, 'u1');
    const socket = await RawChatSocket.connect(server.wsUrl, token);
    assert.equal(socket.socket.protocol, token);
    socket.close();
  });

  test('a missing token is refused with 401 before upgrading', async () => {
    assert.deepEqual(await refusal(undefined), {
      status: 401,
      message: 'A chat token is required as the Sec-WebSocket-Protocol header',
    });
  });

  test('a forged token is refused with 401', async () => {
    const { token } = await createToken(server, roomArn, 'u1');
    const tampered = token.slice(0, -4) + (token.endsWith('AAAA') ? 'BBBB' : 'AAAA');
    assert.deepEqual(await refusal(tampered), { status: 401, message: 'The chat token is not valid' });
    assert.deepEqual(await refusal('v1.garbage'), { status: 401, message: 'The chat token is not valid' });
    assert.deepEqual(await refusal('not-a-token-at-all'), { status: 401, message: 'The chat token is not valid' });
  });

  test('a token is accepted only once', async () => {
    const { token } = await createToken(server, roomArn, 'u1');
    const first = await RawChatSocket.connect(server.wsUrl, token);
    assert.deepEqual(await refusal(token), { status: 401, message: 'The chat token has already been used' });
    first.close();
  });

  test('a token used after its tokenExpirationTime is refused with 401', async () => {
    const { token, tokenExpirationTime } = await createToken(server, roomArn, 'u1');
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, tokenExpirationTime.getTime() - Date.now()) + 50));
    assert.deepEqual(await refusal(token), { status: 401, message: 'The chat token has expired' });
  });

  test('a token for a room that was deleted is refused with 404', async () => {
    const { arn } = await createRoom(server);
    const { token } = await createToken(server, arn, 'u1');
    await server.client.send(new DeleteRoomCommand({ identifier: arn }));
    assert.deepEqual(await refusal(token), { status: 404, message: 'The room of this chat token does not exist' });
  });
});

describe('a flood of bad handshakes', () => {
  test('each bad handshake gets its own 401 while good handshakes in the middle of the flood are accepted', async () => {
    const server = await startTestServer();
    try {
      const { arn } = await createRoom(server);
      const reused = (await createToken(server, arn, 'reused')).token;
      (await RawChatSocket.connect(server.wsUrl, reused)).close();
      const sealed = (await createToken(server, arn, 'forged')).token;
      const forged = sealed.slice(0, 40) + (sealed[40] === 'A' ? 'B' : 'A') + sealed.slice(41);
      const good = await Promise.all(Array.from({ length: 10 }, (_, i) => createToken(server, arn, `good-${i}`)));
      const bad = { forged, reused, garbage: 'x'.repeat(200), truncated: sealed.slice(0, 20) };
      const expected = {
        forged: 'The chat token is not valid',
        reused: 'The chat token has already been used',
        garbage: 'The chat token is not valid',
        truncated: 'The chat token is not valid',
      };

      // All at once: 10 rounds of each bad kind, a good handshake in each round.
      const attempts: Promise<unknown>[] = [];
      const answers: { kind: string; status: number; message: string }[] = [];
      const accepted: RawChatSocket[] = [];
      for (let round = 0; round < 10; round++) {
        for (const [kind, token] of Object.entries(bad)) {
          attempts.push(
            RawChatSocket.connect(server.wsUrl, token).then(
              (socket) => {
                socket.close();
                answers.push({ kind, status: 101, message: 'accepted' });
              },
              (e: { status: number; body: string }) => answers.push({ kind, status: e.status, message: (JSON.parse(e.body) as { message: string }).message }),
            ),
          );
        }
        attempts.push(RawChatSocket.connect(server.wsUrl, good[round]!.token).then((socket) => accepted.push(socket)));
      }
      await Promise.all(attempts);

      assert.deepEqual(accepted.map((socket) => socket.socket.protocol).sort(), good.map((g) => g.token).sort(), 'every good handshake was accepted');
      assert.equal(answers.length, 40);
      for (const answer of answers) {
        assert.deepEqual(answer, { kind: answer.kind, status: 401, message: expected[answer.kind as keyof typeof expected] });
      }
      const metrics = await (await fetch(server.metricsUrl)).text();
      assert.match(metrics, /^chatstorm_handshakes_total\{outcome="invalid_token"\} 30$/m);
      assert.match(metrics, /^chatstorm_handshakes_total\{outcome="reused_token"\} 10$/m);
      assert.match(metrics, /^chatstorm_handshakes_total\{outcome="accepted"\} 11$/m);
      for (const socket of accepted) socket.close();
    } finally {
      await server.stop();
    }
  });
});

describe('the concurrent-connections quota', () => {
  test('a handshake at the limit is refused with 429 before its token is read: the token stays unspent and no connection is counted', async () => {
    const server = await startTestServer(['--max-connections', '2']);
    try {
      const { arn } = await createRoom(server);
      const held = [
        await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'a')).token),
        await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'b')).token),
      ];
      const metric = async (name: string) => {
        const text = await (await fetch(server.metricsUrl)).text();
        return Number(new RegExp(`^${name.replace(/[{}]/g, '\\$&')} (\\S+)$`, 'm').exec(text)?.[1]);
      };
      const opened = await metric('chatstorm_connections_opened_total');
      const token = (await createToken(server, arn, 'waiting')).token;
      const refusals = await Promise.all(
        [token, token, token, 'v1.forged', undefined].map((t) =>
          RawChatSocket.connect(server.wsUrl, t).then(
            () => assert.fail('accepted past the limit'),
            (e: { status: number; body: string }) => [e.status, e.body],
          ),
        ),
      );
      const full = JSON.stringify({ message: 'The limit of 2 concurrent connections is reached' });
      assert.deepEqual(refusals.slice(0, 4), [[429, full], [429, full], [429, full], [429, full]], 'the limit is checked before the token');
      assert.equal(refusals[4]![0], 401, 'a handshake without a token is still told so');
      assert.equal(await metric('chatstorm_connections'), 2);
      assert.equal(await metric('chatstorm_connections_opened_total'), opened);
      assert.equal(await metric('chatstorm_handshakes_total{outcome="connection_limit"}'), 4);
      assert.equal(server.ctx.connections.count, 2);

      held[0]!.close();
      await held[0]!.waitForClose();
      let later: RawChatSocket | undefined;
      for (let attempt = 0; attempt < 50 && !later; attempt++) {
        later = await RawChatSocket.connect(server.wsUrl, token).catch((e: { status: number }) => {
          assert.equal(e.status, 429, 'only the limit may refuse the unspent token');
          return undefined;
        });
        if (!later) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(later, 'the token refused at the limit is accepted once a connection is free');
      later.close();
      held[1]!.close();
    } finally {
      await server.stop();
    }
  });


  test('a handshake past --max-connections is refused with 429 and accepted again once a socket closes', async () => {
    const server = await startTestServer(['--max-connections', '2']);
    try {
      const { arn } = await createRoom(server);
      const a = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'a')).token);
      const b = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'b')).token);
      const third = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'c')).token).catch((e: { status: number }) => e);
      assert.equal((third as { status: number }).status, 429);
      a.close();
      await a.waitForClose();
      // The server sees the close after the client; retry until it has.
      let c: RawChatSocket | undefined;
      for (let attempt = 0; attempt < 50 && !c; attempt++) {
        c = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'c')).token).catch(() => undefined);
        if (!c) await new Promise((resolve) => setTimeout(resolve, 20));
      }
      assert.ok(c, 'a connection is accepted again under the quota');
      b.close();
      c.close();
    } finally {
      await server.stop();
    }
  });
});

describe('bad frames get an ERROR frame with the protocol code, and the connection keeps working', () => {
  let server: TestServer;
  let socket: RawChatSocket;
  before(async () => {
    server = await startTestServer();
    const { arn } = await createRoom(server, { maximumMessageRatePerSecond: 100 });
    socket = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'u1', ['SEND_MESSAGE', 'DELETE_MESSAGE'])).token);
  });
  after(async () => {
    socket.close();
    await server.stop();
  });

  const errorFor = async (frame: string | Buffer, requestId?: string) => {
    const before = socket.frames.length;
    socket.send(frame, { binary: Buffer.isBuffer(frame) });
    const error = await socket.waitFor((f) => socket.frames.indexOf(f) >= before && isError(requestId)(f));
    assert.match(String(error.Id), /^[a-zA-Z0-9]{12}$/);
    return { code: error.ErrorCode, message: error.ErrorMessage, requestId: error.RequestId };
  };

  test('text that is not JSON → 400', async () => {
    assert.deepEqual(await errorFor('{"Action": "SEND_'), { code: 400, message: 'Request is not valid JSON', requestId: undefined });
  });

  test('JSON that is not an object → 400', async () => {
    assert.equal((await errorFor('[1,2]')).code, 400);
    assert.equal((await errorFor('"SEND_MESSAGE"')).code, 400);
    assert.equal((await errorFor('null')).code, 400);
  });

  test('a missing or unknown Action → 400, echoing the RequestId', async () => {
    assert.deepEqual(await errorFor('{"RequestId":"r1","Content":"x"}', 'r1'), { code: 400, message: 'Action is required', requestId: 'r1' });
    assert.deepEqual(await errorFor('{"Action":"SHOUT","RequestId":"r2"}', 'r2'), { code: 400, message: 'Unknown Action: SHOUT', requestId: 'r2' });
  });

  test('fields of the wrong type → 400 naming the field', async () => {
    assert.match(String((await errorFor('{"Action":"SEND_MESSAGE","RequestId":"r3","Content":42}', 'r3')).message), /Content/);
    assert.match(String((await errorFor('{"Action":"SEND_MESSAGE","RequestId":"r4","Content":"x","Attributes":{"a":1}}', 'r4')).message), /Attributes\.a/);
    assert.match(String((await errorFor('{"Action":"SEND_MESSAGE","RequestId":"r5","Content":"x","Attributes":["a"]}', 'r5')).message), /Attributes/);
    assert.match(String((await errorFor('{"Action":"DELETE_MESSAGE","RequestId":"r6"}', 'r6')).message), /Id is required/);
    assert.match(String((await errorFor('{"Action":"SEND_MESSAGE","RequestId":7,"Content":"x"}')).message), /RequestId/);
    assert.match(String((await errorFor('{"Action":"SEND_MESSAGE","RequestId":"r8","Content":""}', 'r8')).message), /empty/);
  });

  test('a malformed message id to delete → 400', async () => {
    const error = await errorFor('{"Action":"DELETE_MESSAGE","RequestId":"d1","Id":"not-an-id"}', 'd1');
    assert.equal(error.code, 400);
  });

  test('attributes over 1 KB → 413', async () => {
    const attributes = { big: 'x'.repeat(1100) };
    const error = await errorFor(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'a1', Content: 'x', Attributes: attributes }), 'a1');
    assert.equal(error.code, 413);
  });

  test('a frame over 16 KiB → 413 without being parsed', async () => {
    const error = await errorFor(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'big', Content: 'x'.repeat(20_000) }));
    assert.equal(error.code, 413);
    assert.equal(error.requestId, undefined, 'an oversized frame is not parsed, so its RequestId is unknown');
  });

  test('a binary frame → 400', async () => {
    const error = await errorFor(Buffer.from('{"Action":"SEND_MESSAGE","Content":"x"}'));
    assert.equal(error.code, 400);
  });

  test('after all that the connection still sends and receives', async () => {
    socket.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'fine', Content: 'still alive' }));
    const message = await socket.waitFor((f) => f.Type === 'MESSAGE' && f.RequestId === 'fine');
    assert.equal(message.Content, 'still alive');
  });
});

describe('frames past the hard limit', () => {
  test('a frame over 256 KiB closes that connection only; others keep working', async () => {
    const server = await startTestServer();
    try {
      const { arn } = await createRoom(server);
      const abuser = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'abuser')).token);
      const viewer = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'viewer')).token);
      abuser.send('x'.repeat(300 * 1024));
      const { code } = await abuser.waitForClose();
      assert.equal(code, 1006, 'uWS drops the connection without reading the frame');
      viewer.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'ok', Content: 'hi' }));
      assert.equal((await viewer.waitFor((f) => f.RequestId === 'ok')).Type, 'MESSAGE');
      const metrics = await (await fetch(`${server.url}/metrics`)).text();
      assert.match(metrics, /chatstorm_connections_closed_total\{reason="message_too_big"\} 1/);
      viewer.close();
    } finally {
      await server.stop();
    }
  });
});

describe('session expiry on a raw connection', () => {
  test('a request after sessionExpirationTime gets ERROR 401 with its RequestId, then the socket closes with 1000', async () => {
    const server = await startTestServer(['--session-minute-seconds', '1']);
    try {
      const { arn } = await createRoom(server);
      const token = await createToken(server, arn, 'late', ['SEND_MESSAGE'], { sessionDurationInMinutes: 1 });
      const socket = await RawChatSocket.connect(server.wsUrl, token.token);
      await new Promise((resolve) => setTimeout(resolve, token.sessionExpirationTime.getTime() - Date.now() + 50));
      socket.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'too-late', Content: 'hello?' }));
      const error = await socket.waitFor(isError());
      assert.deepEqual([error.ErrorCode, error.RequestId, error.ErrorMessage], [401, 'too-late', 'The session has expired']);
      assert.deepEqual(await socket.waitForClose(), { code: 1000, reason: 'Session expired' });
    } finally {
      await server.stop();
    }
  });

  test('an idle connection whose session ends gets ERROR 401 without a RequestId and is closed within about two seconds', async () => {
    const server = await startTestServer(['--session-minute-seconds', '1']);
    try {
      const { arn } = await createRoom(server);
      const token = await createToken(server, arn, 'idle', [], { sessionDurationInMinutes: 1 });
      const socket = await RawChatSocket.connect(server.wsUrl, token.token);
      const { code, reason } = await socket.waitForClose(5000);
      const closedAfterExpiry = Date.now() - token.sessionExpirationTime.getTime();
      assert.deepEqual([code, reason], [1000, 'Session expired']);
      assert.ok(closedAfterExpiry >= 0 && closedAfterExpiry < 2600, `closed ${closedAfterExpiry} ms after expiry`);
      const errors = socket.frames.filter(isError());
      assert.deepEqual(errors.map((f) => [f.ErrorCode, f.RequestId]), [[401, undefined]]);
    } finally {
      await server.stop();
    }
  });
});
