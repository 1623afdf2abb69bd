import fc from 'fast-check';
import { deepNesting, hugeString, keyArb, nastyString, object, raw, serialize, treeArb, wrongType, type JsonTree } from './json-arbitraries.ts';
import { encodeFrame as encode, OPCODE } from './raw-websocket.ts';

// What a fuzz case sends over one WebSocket connection: JSON-level requests (each one well-formed
// text frame) mixed with frame-level inputs written byte by byte. `cls` names the input class for
// the progress counts.

/**
 * The user ids a fuzz connection may have: names that are object keys elsewhere, quotes and
 * astral characters, none starting with good- (the liveness clients' prefix).
 */
export const FUZZ_USER_IDS = ['fuzz-self', '__proto__', 'constructor', 'toString', 'a"b\\c</script>', '😀 fuzz'];
export type Capability = 'SEND_MESSAGE' | 'DELETE_MESSAGE' | 'DISCONNECT_USER';

export type WsStep =
  | { kind: 'text'; cls: string; text: string }
  | { kind: 'text-bytes'; cls: string; bytes: Buffer }
  | { kind: 'binary'; cls: string; bytes: Buffer }
  | { kind: 'fragmented'; cls: string; opcode: 1 | 2; bytes: Buffer; cuts: number[]; pingAfter: number | undefined }
  | { kind: 'ping' | 'pong'; cls: string; payload: Buffer }
  | { kind: 'close'; cls: string; payload: Buffer }
  | { kind: 'violation'; cls: string; variant: Violation; bytes: Buffer }
  | { kind: 'truncated'; cls: string; announced: number; bytes: Buffer };

export type Violation =
  | 'unmasked'
  | 'rsv-bits'
  | 'reserved-opcode'
  | 'long-control'
  | 'fragmented-control'
  | 'orphan-continuation'
  | 'interrupted-fragments'
  | 'interrupted-by-binary'
  | 'huge-length'
  | 'oversized-message';

export type FuzzRoom = 'plain' | 'review-allow' | 'review-deny';

export interface WsCase {
  /** The plain room is the liveness clients' room; the others call the fuzzer's review handler. */
  room: FuzzRoom;
  userId: string;
  /** The token's attributes as [key, value] pairs (keys such as __proto__ included); every MESSAGE of the connection carries them. */
  tokenAttributes: Array<[string, string]>;
  capabilities: Capability[];
  steps: WsStep[];
  /** Write each step's first bytes a few at a time, so frames straddle TCP reads. */
  trickle: boolean;
}

const absent = fc.constant(undefined);
type Member = fc.Arbitrary<JsonTree | undefined>;
const field = (...arbs: Array<Member | { weight: number; arbitrary: Member }>): Member => fc.oneof(...arbs);
const str = (a: fc.Arbitrary<string>) => a.map(raw);

const actionArb = field(
  { weight: 6, arbitrary: str(fc.constantFrom('SEND_MESSAGE', 'DELETE_MESSAGE', 'DISCONNECT_USER')) },
  absent,
  fc.constant(raw(null)),
  str(fc.constantFrom('send_message', 'SEND_MESSAGE ', 'SEND-MESSAGE', 'FUZZ', '__proto__', 'constructor', 'toString', '')),
  str(nastyString),
  str(hugeString(60, 5000)),
  wrongType('string'),
);
const requestIdArb = field(
  { weight: 4, arbitrary: str(fc.string({ maxLength: 24 })) },
  absent,
  fc.constant(raw(null)),
  str(nastyString),
  str(hugeString(250, 16_000)),
  wrongType('string'),
);
const contentArb = field(
  { weight: 4, arbitrary: str(fc.string({ minLength: 1, maxLength: 40 })) },
  absent,
  str(nastyString),
  str(hugeString(490, 520)),
  str(hugeString(1, 16_000)),
  wrongType('string'),
);
const attributeValue = fc.oneof(
  { weight: 4, arbitrary: str(fc.string({ maxLength: 20 })) },
  { weight: 1, arbitrary: str(hugeString(300, 1100)) },
  { weight: 1, arbitrary: wrongType('string') },
);
const attributesArb = field(
  absent,
  fc.constant(raw(null)),
  fc.array(fc.tuple(keyArb, str(fc.string({ maxLength: 20 }))), { maxLength: 5 }).map(object),
  fc.array(fc.tuple(keyArb, attributeValue), { maxLength: 6 }).map(object),
  wrongType('object'),
);
const idArb = field(
  { weight: 3, arbitrary: str(fc.stringMatching(/^[a-zA-Z0-9]{12}$/)) },
  absent,
  str(fc.string({ maxLength: 14 })),
  str(hugeString(11, 13)),
  wrongType('string'),
);
const userIdArb = field(
  str(fc.constantFrom(...FUZZ_USER_IDS)),
  { weight: 2, arbitrary: str(fc.string({ minLength: 1, maxLength: 20 }).filter((u) => !u.startsWith('good-'))) },
  absent,
  str(fc.constant('')),
  str(hugeString(127, 140)),
  wrongType('string'),
);
const reasonArb = field(
  { weight: 3, arbitrary: absent },
  fc.constant(raw(null)),
  str(fc.string({ minLength: 1, maxLength: 20 })),
  str(fc.constant('')),
  str(hugeString(255, 300)),
  wrongType('string'),
);

/** A request object with every member possibly missing, of the wrong type, huge, or joined by strangers. */
const requestArb = fc
  .record({
    Action: actionArb,
    RequestId: requestIdArb,
    Content: contentArb,
    Attributes: attributesArb,
    Id: idArb,
    UserId: userIdArb,
    Reason: reasonArb,
    extra: fc.array(fc.tuple(keyArb, treeArb), { maxLength: 3 }),
    duplicate: fc.option(fc.tuple(fc.constantFrom('Action', 'RequestId', 'Content', 'Attributes'), treeArb), { nil: undefined }),
  })
  .map(({ extra, duplicate, ...members }) => {
    const entries: Array<[string, JsonTree]> = [];
    for (const [name, value] of Object.entries(members)) if (value !== undefined) entries.push([name, value]);
    entries.push(...extra);
    if (duplicate) entries.push(duplicate);
    return serialize(object(entries));
  });

/**
 * A request the server should accept, so that the success path is fuzzed too: MESSAGE and EVENT
 * frames must carry Content, Attributes (keys such as __proto__ included) and ids back unchanged.
 */
const validRequestArb = fc
  .record({
    action: fc.constantFrom('SEND_MESSAGE', 'DELETE_MESSAGE', 'DISCONNECT_USER'),
    requestId: fc.option(fc.string({ maxLength: 40 }), { nil: undefined }),
    content: fc.oneof(fc.string({ unit: 'grapheme', minLength: 1, maxLength: 60 }), hugeString(1, 500), nastyString.filter((c) => c.length > 0)),
    attributes: fc.option(fc.array(fc.tuple(keyArb, fc.string({ maxLength: 30 })), { maxLength: 6 }), { nil: undefined }),
    id: fc.stringMatching(/^[a-zA-Z0-9]{12}$/),
    userId: fc.oneof(fc.constantFrom(...FUZZ_USER_IDS), fc.string({ minLength: 1, maxLength: 30 }).filter((u) => !u.startsWith('good-'))),
    reason: fc.option(fc.string({ minLength: 1, maxLength: 256 }), { nil: undefined }),
  })
  .map((r) => {
    const entries: Array<[string, JsonTree]> = [['Action', raw(r.action)]];
    if (r.requestId !== undefined) entries.push(['RequestId', raw(r.requestId)]);
    if (r.action === 'SEND_MESSAGE') {
      entries.push(['Content', raw(r.content)]);
      if (r.attributes) entries.push(['Attributes', object(r.attributes.map(([k, v]) => [k, raw(v)]))]);
    } else {
      entries.push(r.action === 'DELETE_MESSAGE' ? ['Id', raw(r.id)] : ['UserId', raw(r.userId)]);
      if (r.reason !== undefined) entries.push(['Reason', raw(r.reason)]);
    }
    return serialize(object(entries));
  });

const text = (cls: string, arb: fc.Arbitrary<string>): fc.Arbitrary<WsStep> => arb.map((t) => ({ kind: 'text', cls, text: t }));

const jsonStep: fc.Arbitrary<WsStep> = fc.oneof(
  { weight: 10, arbitrary: text('json-request', requestArb) },
  { weight: 5, arbitrary: text('json-valid', validRequestArb) },
  { weight: 2, arbitrary: text('json-random', treeArb.map(serialize)) },
  { weight: 1, arbitrary: text('json-random', fc.json()) },
  { weight: 1, arbitrary: text('text-random', fc.string({ unit: 'binary', maxLength: 60 })) },
  {
    weight: 1,
    arbitrary: text(
      'json-truncated',
      fc.tuple(requestArb, fc.nat()).map(([t, n]) => t.slice(0, n % Math.max(1, t.length))),
    ),
  },
  { weight: 1, arbitrary: text('json-deep', deepNesting) },
  { weight: 1, arbitrary: text('json-huge', hugeString(16_000, 40_000).map((s) => JSON.stringify({ Action: 'SEND_MESSAGE', Content: s }))) },
);

const bytes = (min: number, max: number) => fc.uint8Array({ minLength: min, maxLength: max }).map((a) => Buffer.from(a));
/** Byte strings that are not UTF-8: lone continuation bytes, overlongs, surrogates, past U+10FFFF, cut sequences. */
const invalidUtf8 = fc
  .tuple(
    fc.string({ maxLength: 10 }),
    fc.constantFrom([0x80], [0xff], [0xc0, 0xaf], [0xe0, 0x80, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80]),
    fc.string({ maxLength: 10 }),
  )
  .map(([a, bad, b]) => Buffer.concat([Buffer.from(`{"Action":"SEND_MESSAGE","Content":"${a}`), Buffer.from(bad), Buffer.from(`${b}"}`)]));

const controlPayload = bytes(0, 125);
const cutsArb = fc.array(fc.nat(), { minLength: 1, maxLength: 4 });

const frameStep: fc.Arbitrary<WsStep> = fc.oneof(
  bytes(0, 200).map((b): WsStep => ({ kind: 'binary', cls: 'binary', bytes: b })),
  fc.record({ payload: controlPayload, kind: fc.constantFrom('ping' as const, 'pong' as const) }).map(({ payload, kind }): WsStep => ({ kind, cls: 'control', payload })),
  fc
    .record({ request: requestArb, opcode: fc.constantFrom(1 as const, 1 as const, 2 as const), cuts: cutsArb, ping: fc.option(fc.nat(), { nil: undefined }) })
    .map(({ request, opcode, cuts, ping }): WsStep => ({ kind: 'fragmented', cls: 'fragmented', opcode, bytes: Buffer.from(request), cuts, pingAfter: ping })),
  fc
    .oneof(
      fc.constant(Buffer.alloc(0)),
      fc.tuple(fc.integer({ min: 0, max: 5000 }), fc.string({ maxLength: 40 })).map(([code, reason]) => {
        const b = Buffer.alloc(2);
        b.writeUInt16BE(code);
        return Buffer.concat([b, Buffer.from(reason)]);
      }),
      bytes(1, 1),
      fc.constant(Buffer.from([0x03, 0xe8, 0xff, 0xfe])),
    )
    .map((payload): WsStep => ({ kind: 'close', cls: 'close', payload })),
  invalidUtf8.map((b): WsStep => ({ kind: 'text-bytes', cls: 'invalid-utf8', bytes: b })),
  fc
    .record({ announced: fc.integer({ min: 2, max: 2000 }), sent: bytes(0, 40) })
    .filter(({ announced, sent }) => sent.length < announced)
    .map(({ announced, sent }): WsStep => ({ kind: 'truncated', cls: 'truncated', announced, bytes: sent })),
  violationArb(),
);

function violationArb(): fc.Arbitrary<WsStep> {
  const payload = fc.string({ maxLength: 30 }).map((s) => Buffer.from(`{"Action":"SEND_MESSAGE","Content":${JSON.stringify(s || 'x')}}`));
  const v = (variant: Violation, arb: fc.Arbitrary<Buffer>) => arb.map((b): WsStep => ({ kind: 'violation', cls: 'protocol-violation', variant, bytes: b }));
  const frame = (o: { fin?: boolean; rsv?: number; opcode: number; masked?: boolean; payload: Buffer; announced?: number }) =>
    ({ fin: o.fin ?? true, rsv: o.rsv ?? 0, opcode: o.opcode, masked: o.masked ?? true, payload: o.payload, announcedLength: o.announced });
  return fc.oneof(
    v('unmasked', payload.map((p) => encode(frame({ opcode: OPCODE.text, masked: false, payload: p })))),
    v('rsv-bits', fc.tuple(payload, fc.integer({ min: 1, max: 7 })).map(([p, rsv]) => encode(frame({ opcode: OPCODE.text, rsv, payload: p })))),
    v(
      'reserved-opcode',
      fc.tuple(fc.constantFrom(3, 4, 5, 6, 7, 0xb, 0xc, 0xd, 0xe, 0xf), bytes(0, 20)).map(([opcode, p]) => encode(frame({ opcode, payload: p }))),
    ),
    v(
      'long-control',
      fc.tuple(fc.constantFrom(OPCODE.ping, OPCODE.pong, OPCODE.close), bytes(126, 300)).map(([opcode, p]) => encode(frame({ opcode, payload: p }))),
    ),
    v('fragmented-control', fc.tuple(fc.constantFrom(OPCODE.ping, OPCODE.pong), bytes(0, 20)).map(([opcode, p]) => encode(frame({ opcode, fin: false, payload: p })))),
    v('orphan-continuation', payload.map((p) => encode(frame({ opcode: OPCODE.continuation, payload: p })))),
    v(
      'interrupted-fragments',
      payload.map((p) => Buffer.concat([encode(frame({ opcode: OPCODE.text, fin: false, payload: p.subarray(0, 5) })), encode(frame({ opcode: OPCODE.text, payload: p }))])),
    ),
    v(
      'interrupted-by-binary',
      payload.map((p) => Buffer.concat([encode(frame({ opcode: OPCODE.text, fin: false, payload: p.subarray(0, 5) })), encode(frame({ opcode: OPCODE.binary, payload: p }))])),
    ),
    v('huge-length', fc.integer({ min: 2 ** 20, max: 2 ** 52 }).map((n) => encode(frame({ opcode: OPCODE.text, payload: Buffer.from('{'), announced: n })))),
    v('oversized-message', fc.integer({ min: 256 * 1024 + 1, max: 300 * 1024 }).map((n) => encode(frame({ opcode: OPCODE.text, payload: Buffer.alloc(n, 0x61) })))),
  );
}

export const capabilitiesArb = fc.subarray(['SEND_MESSAGE', 'DELETE_MESSAGE', 'DISCONNECT_USER'] as Capability[]);

export const wsCaseArb: fc.Arbitrary<WsCase> = fc.record({
  room: fc.constantFrom<FuzzRoom>('plain', 'plain', 'plain', 'review-allow', 'review-deny'),
  userId: fc.constantFrom(...FUZZ_USER_IDS),
  tokenAttributes: fc.oneof(
    { weight: 3, arbitrary: fc.constant([] as Array<[string, string]>) },
    { weight: 1, arbitrary: fc.uniqueArray(fc.tuple(keyArb, fc.string({ maxLength: 20 })), { maxLength: 4, selector: ([k]) => k }) },
  ),
  capabilities: fc.oneof({ weight: 3, arbitrary: fc.constant<Capability[]>(['SEND_MESSAGE', 'DELETE_MESSAGE', 'DISCONNECT_USER']) }, { weight: 1, arbitrary: capabilitiesArb }),
  steps: fc.array(fc.oneof({ weight: 3, arbitrary: jsonStep }, { weight: 1, arbitrary: frameStep }), { minLength: 1, maxLength: 4 }),
  trickle: fc.boolean(),
});
