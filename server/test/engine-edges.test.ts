import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startBareUws, type BareUws } from './support/bare-uws.ts';
import { createRoom, createToken } from './support/chat.ts';
import { tcpExchange, type TcpOutcome } from './support/raw-tcp.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// Inputs that uWebSockets.js handles before any chatstorm code runs (its HTTP parser, its
// WebSocket framing), sent to chatstorm and to a bare uWebSockets.js server side by side. Both
// must behave alike: these tests pin the engine's behaviour, so that an engine upgrade that
// changes it fails here and the README's "Known limitations" table is updated with it.
// Bounds are generous: uSockets' timers tick every 4 s and the machine is shared.

const IDLE_TIMEOUT_SECONDS = 8;
const HOLD_MS = 40_000;

const upgradeHead = (token?: string) =>
  'GET / HTTP/1.1\r\nHost: chatstorm\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
  (token ? `Sec-WebSocket-Protocol: ${token}\r\n` : '') +
  '\r\n';
/** A text frame with the MASK bit clear, which RFC 6455 §5.1 forbids from a client. */
const unmaskedFrame = (text: string) => Buffer.concat([Buffer.from([0x81, Buffer.byteLength(text)]), Buffer.from(text)]);

/** Whatever the server sent after the 101 head: WebSocket frames. */
const framesAfterUpgrade = (received: string) => received.slice(received.indexOf('\r\n\r\n') + 4);

const HTTP_PARSE_ERRORS: Record<string, string> = {
  'an HTTP/1.0 request': 'GET /healthz HTTP/1.0\r\nHost: chatstorm\r\n\r\n',
  'a request head with bare \\n line ends': 'GET /healthz HTTP/1.1\nHost: chatstorm\n\n',
  'a NUL byte in a header value': 'GET /healthz HTTP/1.1\r\nHost: chat\0storm\r\n\r\n',
  // uWS 20.30 takes at most 48 header lines.
  '300 headers': `GET /healthz HTTP/1.1\r\n${Array.from({ length: 300 }, (_, i) => `x-h${i}: v\r\n`).join('')}\r\n`,
  'a header line without a colon': 'GET /healthz HTTP/1.1\r\nHost: chatstorm\r\nno-colon-here\r\n\r\n',
  'a TLS ClientHello on the plain port': '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03',
};

describe('engine edges: chatstorm beside a bare uWebSockets.js server', () => {
  let chatstorm: TestServer;
  let bare: BareUws;
  const outcomes = new Map<string, { chatstorm: TcpOutcome; bare: TcpOutcome }>();

  before(async () => {
    chatstorm = await startTestServer(['--idle-timeout-seconds', String(IDLE_TIMEOUT_SECONDS)]);
    bare = await startBareUws({ idleTimeoutSeconds: IDLE_TIMEOUT_SECONDS });
    const { arn } = await createRoom(chatstorm);
    const tokens = [await createToken(chatstorm, arn, 'unmasked-1'), await createToken(chatstorm, arn, 'unmasked-2')];

    // Every probe runs at once, against both servers: the slowest sets the time (about 12 s).
    const probes: Record<string, (port: number, server: 'chatstorm' | 'bare') => Promise<TcpOutcome>> = {
      'a well-formed request': (port) => tcpExchange(port, ['GET /healthz HTTP/1.1\r\nHost: chatstorm\r\nConnection: close\r\n\r\n'], { holdMs: HOLD_MS }),
      'a connection that sends nothing': (port) => tcpExchange(port, [], { holdMs: HOLD_MS }),
      // uWS buffers a head that spans reads in 4 KB; one that fits a single read is not limited so.
      'a head over 4 KB arriving in two reads': (port) => {
        const head = `GET /healthz HTTP/1.1\r\nHost: chatstorm\r\nx-big: ${'a'.repeat(10_000)}\r\n\r\n`;
        return tcpExchange(port, [head.slice(0, 5000), head.slice(5000)], { gapMs: 50, holdMs: HOLD_MS });
      },
      'an HTTP/1.1 request without Host': (port) => tcpExchange(port, ['GET /healthz HTTP/1.1\r\nAccept: */*\r\n\r\n'], { holdMs: HOLD_MS }),
      'a Content-Length of ten digits': (port) =>
        tcpExchange(port, ['POST /CreateRoom HTTP/1.1\r\nHost: chatstorm\r\nContent-Length: 1000000000\r\n\r\n{}'], { holdMs: HOLD_MS }),
      'a head trickled a byte every 100 ms': (port) =>
        tcpExchange(port, [...`GET /healthz HTTP/1.1\r\nHost: chatstorm\r\nx-slow: ${'a'.repeat(400)}`], { gapMs: 100, holdMs: HOLD_MS }),
      'one unmasked frame after the upgrade': (port, server) =>
        tcpExchange(port, [upgradeHead(server === 'chatstorm' ? tokens[0]!.token : 'x')], { holdMs: HOLD_MS, afterReply: [unmaskedFrame('hi')] }),
      'unmasked frames after the upgrade, then more': (port, server) =>
        tcpExchange(port, [upgradeHead(server === 'chatstorm' ? tokens[1]!.token : 'x')], {
          holdMs: HOLD_MS,
          afterReply: Array.from({ length: 4 }, () => unmaskedFrame('{"Action":"SEND_MESSAGE"}')),
        }),
      ...Object.fromEntries(Object.entries(HTTP_PARSE_ERRORS).map(([name, head]) => [name, (port: number) => tcpExchange(port, [head], { holdMs: HOLD_MS })])),
    };
    await Promise.all(
      Object.entries(probes).map(async ([name, probe]) => {
        const [c, b] = await Promise.all([probe(chatstorm.port, 'chatstorm'), probe(bare.port, 'bare')]);
        outcomes.set(name, { chatstorm: c, bare: b });
      }),
    );
  });
  after(async () => {
    bare.close();
    await chatstorm.stop();
  });

  /** Asserts the same fact of both servers, reporting what each did. */
  const both = (name: string, check: (outcome: TcpOutcome, server: string) => void) => {
    const pair = outcomes.get(name)!;
    for (const [server, outcome] of Object.entries(pair)) check(outcome, server);
  };
  const describeOutcome = (o: TcpOutcome) => `closed after ${o.closedAfterMs ?? 'never'} ms, sent ${JSON.stringify(o.received.slice(0, 80))}`;

  test('a well-formed request is answered at once by both (the probe itself works)', (t) => {
    both('a well-formed request', (o, server) => {
      assert.match(o.received, /^HTTP\/1\.1 200 /, `${server}: ${describeOutcome(o)}`);
      assert.ok(o.closedAfterMs !== undefined && o.closedAfterMs < 5000, `${server}: ${describeOutcome(o)}`);
    });
    t.diagnostic(JSON.stringify(Object.fromEntries([...outcomes].map(([k, v]) => [k, { chatstorm: v.chatstorm.closedAfterMs, bare: v.bare.closedAfterMs }]))));
  });

  for (const name of [...Object.keys(HTTP_PARSE_ERRORS), 'a connection that sends nothing', 'a head trickled a byte every 100 ms']) {
    test(`${name}: no status line, closed after uWebSockets.js's 10 s HTTP timeout, by both`, () => {
      both(name, (o, server) => {
        assert.equal(o.received, '', `${server}: ${describeOutcome(o)}`);
        assert.ok(o.closedAfterMs !== undefined, `${server} still held the connection after ${HOLD_MS} ms`);
        assert.ok(o.closedAfterMs >= 4000 && o.closedAfterMs <= 30_000, `${server}: ${describeOutcome(o)}`);
      });
    });
  }

  for (const name of ['a head over 4 KB arriving in two reads', 'an HTTP/1.1 request without Host', 'a Content-Length of ten digits']) {
    test(`${name}: no status line, closed at once, by both`, () => {
      both(name, (o, server) => {
        assert.equal(o.received, '', `${server}: ${describeOutcome(o)}`);
        assert.ok(o.closedAfterMs !== undefined && o.closedAfterMs < 5000, `${server}: ${describeOutcome(o)}`);
      });
    });
  }

  test('one unmasked frame: no answer and no close frame; the socket lasts until the WebSocket idle timeout, on both', () => {
    both('one unmasked frame after the upgrade', (o, server) => {
      assert.match(o.received, /^HTTP\/1\.1 101 /, `${server}: ${describeOutcome(o)}`);
      const frames = framesAfterUpgrade(o.received);
      // Only pings (0x89) may come: no text frame (0x81) and no close frame (0x88).
      assert.ok(!frames.includes('\x81') && !frames.includes('\x88'), `${server} sent frames ${JSON.stringify(frames)}`);
      assert.ok(o.closedAfterMs !== undefined, `${server} still held the connection after ${HOLD_MS} ms`);
      assert.ok(o.closedAfterMs >= IDLE_TIMEOUT_SECONDS * 1000 - 4000 && o.closedAfterMs <= 30_000, `${server}: ${describeOutcome(o)}`);
    });
  });

  test('unmasked frames followed by more bytes: the connection is dropped without a close frame, by both', () => {
    both('unmasked frames after the upgrade, then more', (o, server) => {
      assert.match(o.received, /^HTTP\/1\.1 101 /, `${server}: ${describeOutcome(o)}`);
      assert.ok(!framesAfterUpgrade(o.received).includes('\x88'), `${server}: ${describeOutcome(o)}`);
      assert.ok(o.closedAfterMs !== undefined && o.closedAfterMs < 5000, `${server}: ${describeOutcome(o)}`);
    });
  });
});
