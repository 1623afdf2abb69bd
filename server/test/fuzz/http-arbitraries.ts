import fc from 'fast-check';
import { deepNesting, hugeString, keyArb, nastyString, object, raw, serialize, treeArb, wrongType, type JsonTree } from './json-arbitraries.ts';
import type { KnownDefect } from './known-defects.ts';
import { OPERATIONS, type JsonType, type OperationShape } from './operations.ts';

// HTTP requests for the control plane: every operation with members missing, of the wrong type or
// strange; unknown operations and methods; bodies that are not JSON, not objects, cut short or too
// big; content types that are not JSON; /tags/ paths with broken percent-encoding; heads that are
// not HTTP/1.1 at all.

export type Framing = 'length' | 'chunked' | 'truncated';

export interface HttpCase {
  cls: string;
  method: string;
  /** Path and query, as written on the request line. */
  target: string;
  version: string;
  contentType: string | undefined;
  body: Buffer;
  framing: Framing;
  /** Bytes a truncated body claims beyond what is sent. */
  missing: number;
  /** Write the request a few bytes at a time (a slow sender that does finish). */
  trickle: boolean;
  /** A head written as is, for heads that are not HTTP. */
  rawHead?: string;
  /** Set on inputs of a class that fails because of a known defect (known-defects.ts). */
  knownDefect?: KnownDefect;
}

const CONTENT_TYPES = [
  undefined,
  'application/json',
  'application/x-amz-json-1.1',
  'text/plain',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=xyz',
  'application/json; charset=utf-16',
  'image/png',
  '',
];

export interface ArnPool {
  /** Real resources of the target (a room, a logging configuration) and look-alikes that do not exist. */
  arns: string[];
}

const numberEdges = fc.oneof(
  fc.constantFrom(0, 1, 3, 50, 51, 100, 101, 128, 180, 181, 500, 501, -1, 1.5, 2 ** 31, 2 ** 53, -0),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** A value that is of the member's JSON type and often valid for it, guessed from its name. */
function plausible(name: string, type: JsonType, pool: ArnPool): fc.Arbitrary<JsonTree> {
  const arn = fc.constantFrom(...pool.arns);
  const stringMap = fc.array(fc.tuple(fc.oneof(keyArb, fc.constantFrom('aws:x', 'AWS:y', 'k')), fc.oneof(fc.string({ maxLength: 20 }).map(raw), hugeString(250, 1100).map(raw))), { maxLength: 5 }).map(object);
  if (/identifier$|Arn$/i.test(name) && type === 'string') return arn.map(raw);
  if (name === 'loggingConfigurationIdentifiers') return fc.array(arn, { maxLength: 4 }).map(raw);
  if (name === 'capabilities') return fc.array(fc.constantFrom('SEND_MESSAGE', 'DELETE_MESSAGE', 'DISCONNECT_USER', 'send_message', ''), { maxLength: 4 }).map(raw);
  if (name === 'messageReviewHandler') {
    return fc
      .record(
        { uri: fc.constantFrom('', 'http://127.0.0.1:1/review', 'arn:aws:lambda:us-east-1:123456789012:function:f', 'ftp://x', 'x'.repeat(171)), fallbackResult: fc.constantFrom('ALLOW', 'DENY', 'allow', '') },
        { requiredKeys: [] },
      )
      .map(raw);
  }
  if (name === 'destinationConfiguration') {
    return fc
      .record(
        {
          s3: fc.record({ bucketName: fc.constantFrom('my-bucket', 'ab', 'UPPER', '../etc', 'a'.repeat(64)) }, { requiredKeys: [] }),
          cloudWatchLogs: fc.record({ logGroupName: fc.constantFrom('/aws/chat', '../../x', '', 'g'.repeat(513)) }, { requiredKeys: [] }),
          firehose: fc.record({ deliveryStreamName: fc.constantFrom('stream', 'a/b', '') }, { requiredKeys: [] }),
        },
        { requiredKeys: [] },
      )
      .map(raw);
  }
  switch (type) {
    case 'object':
      return stringMap;
    case 'number':
      return numberEdges.map(raw);
    case 'array':
      return fc.array(fc.string({ maxLength: 10 }), { maxLength: 3 }).map(raw);
    case 'boolean':
      return fc.boolean().map(raw);
    default:
      return fc.oneof(fc.string({ maxLength: 20 }), nastyString, hugeString(100, 1100), fc.stringMatching(/^[a-zA-Z0-9]{12}$/)).map(raw);
  }
}

function bodyFor(op: OperationShape, pool: ArnPool): fc.Arbitrary<string> {
  const members = Object.entries(op.members).map(([name, type]) =>
    fc
      .oneof(
        { weight: 4, arbitrary: plausible(name, type, pool).map((v) => [[name, v]] as Array<[string, JsonTree]>) },
        { weight: 2, arbitrary: fc.constant([] as Array<[string, JsonTree]>) },
        { weight: 1, arbitrary: wrongType(type === 'object' ? 'object' : 'string').map((v) => [[name, v]] as Array<[string, JsonTree]>) },
        { weight: 1, arbitrary: fc.constantFrom(raw(null), raw(true), raw(0), raw({}), raw([])).map((v) => [[name, v]] as Array<[string, JsonTree]>) },
      ),
  );
  return fc
    .tuple(fc.tuple(...members), fc.array(fc.tuple(keyArb, treeArb), { maxLength: 2 }))
    .map(([chosen, extra]) => serialize(object([...chosen.flat(), ...extra])));
}

const base = (o: Partial<HttpCase> & Pick<HttpCase, 'cls' | 'method' | 'target'>): HttpCase => ({
  version: 'HTTP/1.1',
  contentType: 'application/json',
  body: Buffer.alloc(0),
  framing: 'length',
  missing: 0,
  trickle: false,
  ...o,
});

const arnPath = (pool: ArnPool) => fc.constantFrom(...pool.arns).map((arn) => `/tags/${encodeURIComponent(arn)}`);

function operationCase(pool: ArnPool): fc.Arbitrary<HttpCase> {
  return fc.constantFrom(...OPERATIONS).chain((op) =>
    fc
      .record({
        body: bodyFor(op, pool),
        target: 'tags' in op.route ? arnPath(pool) : fc.constant(op.route.path),
        tagKeys: fc.array(fc.oneof(fc.string({ maxLength: 10 }).map(encodeURIComponent), fc.constantFrom('%', '%zz', 'a&b', '', '%E0%A4%A')), { maxLength: 3 }),
        contentType: fc.constantFrom(...CONTENT_TYPES),
        framing: fc.constantFrom<Framing>('length', 'length', 'length', 'chunked'),
        trickle: fc.oneof({ weight: 5, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      })
      .map(({ body, target, tagKeys, contentType, framing, trickle }) => {
        const query = op.route.method === 'DELETE' ? '?' + tagKeys.map((k) => `tagKeys=${k}`).join('&') : '';
        return base({
          cls: `op:${op.name}`,
          method: op.route.method,
          target: target + query,
          contentType,
          body: Buffer.from(op.route.method === 'GET' || op.route.method === 'DELETE' ? '' : body),
          framing,
          trickle: trickle && body.length < 400,
        });
      }),
  );
}

const opNames = OPERATIONS.map((o) => o.name);

function unknownOperationCase(): fc.Arbitrary<HttpCase> {
  return fc
    .record({
      method: fc.constantFrom('GET', 'PUT', 'PATCH', 'DELETE', 'OPTIONS', 'POST', 'TRACE', 'FOO', 'post'),
      target: fc.oneof(
        fc.constantFrom(...opNames).map((n) => `/${n.toLowerCase()}`),
        fc.constantFrom(...opNames).map((n) => `/${n}/`),
        fc.constantFrom(...opNames).map((n) => `//${n}`),
        fc.constantFrom('/', '/tags', '/tags/', '/CreateRoom%00', '/%2e%2e/CreateRoom', '/__proto__', '/constructor', '/toString', '/*'),
        fc.webPath().map((p) => p || '/'),
      ),
      body: fc.json(),
    })
    .filter(({ method, target }) => !(method === 'POST' && opNames.some((n) => target === `/${n}`)) && !/^\/(healthz|metrics)(\?|$)/.test(target))
    .map(({ method, target, body }) => base({ cls: 'unknown-operation', method, target, body: Buffer.from(body) }));
}

const postPath = fc.constantFrom(...OPERATIONS.filter((o) => o.route.method === 'POST' && 'path' in o.route).map((o) => (o.route as { path: string }).path));

function badBodyCase(): fc.Arbitrary<HttpCase> {
  const body = fc.oneof(
    fc.json().map((j) => j.slice(0, Math.max(0, j.length - 1))),
    fc.constantFrom('', '{', '}', '{"a":}', '\ufeff{}', '{}garbage', '[]', 'null', '1', '"str"', 'true', '{"a":1}{"b":2}', 'NaN', '{\'a\':1}'),
    fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b).toString('latin1')),
    deepNesting,
    hugeString(1000, 100_000).map((s) => JSON.stringify({ name: s })),
  );
  return fc
    .record({ target: postPath, body, contentType: fc.constantFrom(...CONTENT_TYPES), invalidUtf8: fc.boolean() })
    .map(({ target, body, contentType, invalidUtf8 }) =>
      base({ cls: 'bad-body', method: 'POST', target, contentType, body: invalidUtf8 ? Buffer.concat([Buffer.from(body), Buffer.from([0xff, 0xc3])]) : Buffer.from(body) }),
    );
}

function badPercentCase(pool: ArnPool): fc.Arbitrary<HttpCase> {
  const piece = fc.oneof(
    fc.constantFrom('%', '%G1', '%E0%A4%A', '%C0%AF', '%FF', '%ED%A0%80', '%00', '%2F', '%25', 'arn', ':', '%3A'),
    fc.constantFrom(...pool.arns).map(encodeURIComponent),
    fc.string({ maxLength: 6 }).map(encodeURIComponent),
  );
  return fc
    .record({ pieces: fc.array(piece, { minLength: 1, maxLength: 5 }), method: fc.constantFrom('GET', 'POST', 'DELETE') })
    .map(({ pieces, method }) => base({ cls: 'bad-percent-encoding', method, target: `/tags/${pieces.join('')}`, body: Buffer.from(method === 'POST' ? '{"tags":{"a":"b"}}' : '') }));
}

function truncatedCase(pool: ArnPool): fc.Arbitrary<HttpCase> {
  return fc
    .record({ op: operationCase(pool), missing: fc.integer({ min: 1, max: 100_000 }) })
    .filter(({ op }) => op.method === 'POST')
    .map(({ op, missing }) => ({ ...op, cls: 'truncated-body', framing: 'truncated' as const, missing, trickle: false }));
}

function oversizedCase(): fc.Arbitrary<HttpCase> {
  return fc
    .record({ target: postPath, size: fc.integer({ min: 256 * 1024 + 1, max: 4 * 1024 * 1024 }) })
    .map(({ target, size }) => base({ cls: 'oversized-body', method: 'POST', target, body: Buffer.alloc(size, 0x20) }));
}

function unansweredHeadCase(): fc.Arbitrary<HttpCase> {
  return fc
    .oneof(
      postPath.map((p) => `POST ${p} HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}`),
      fc.constantFrom(
        'GARBAGE\r\n\r\n',
        'POST /ListRooms HTTP/9.9\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}',
        'POST /ListRooms HTTP/1.1\r\nHost x\r\nContent-Length: 2\r\n\r\n{}',
        'POST /List\u0000Rooms HTTP/1.1\r\nHost: x\r\n\r\n',
        'POST  /ListRooms  HTTP/1.1\r\nHost: x\r\n\r\n',
        'POST /ListRooms\r\n\r\n',
        ' \r\n\r\n',
      ),
      fc.string({ unit: 'binary', maxLength: 40 }).map((s) => `${s}\r\n\r\n`),
    )
    .map((rawHead) => base({ cls: 'unanswered-head', method: '', target: '', rawHead, knownDefect: 'unanswered-heads' }));
}

export function httpCaseArb(pool: ArnPool, skip: ReadonlySet<KnownDefect>): fc.Arbitrary<HttpCase> {
  const arbs: Array<{ weight: number; arbitrary: fc.Arbitrary<HttpCase> }> = [
    { weight: 12, arbitrary: operationCase(pool) },
    { weight: 3, arbitrary: unknownOperationCase() },
    { weight: 3, arbitrary: badBodyCase() },
    { weight: 2, arbitrary: badPercentCase(pool) },
    { weight: 2, arbitrary: truncatedCase(pool) },
  ];
  arbs.push({ weight: 1, arbitrary: oversizedCase() });
  if (!skip.has('unanswered-heads')) arbs.push({ weight: 1, arbitrary: unansweredHeadCase() });
  return fc.oneof(...arbs);
}

/** The request bytes of a case, and how many body bytes the head promises but never come. */
export function render(c: HttpCase): Buffer {
  if (c.rawHead !== undefined) return Buffer.from(c.rawHead, 'latin1');
  let head = `${c.method} ${c.target} ${c.version}\r\nHost: 127.0.0.1\r\n`;
  if (c.contentType !== undefined) head += `Content-Type: ${c.contentType}\r\n`;
  if (c.framing === 'chunked') {
    head += 'Transfer-Encoding: chunked\r\n\r\n';
    const chunks: Buffer[] = [Buffer.from(head)];
    for (let i = 0; i < c.body.length; i += 100) {
      const piece = c.body.subarray(i, i + 100);
      chunks.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from('0\r\n\r\n'));
    return Buffer.concat(chunks);
  }
  head += `Content-Length: ${c.body.length + (c.framing === 'truncated' ? c.missing : 0)}\r\n\r\n`;
  return Buffer.concat([Buffer.from(head), c.body]);
}
