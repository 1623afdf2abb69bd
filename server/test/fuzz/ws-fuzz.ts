import { isDeepStrictEqual } from 'node:util';
import { LivenessPair } from './liveness.ts';
import { encodeFrame, OPCODE, RawWebSocket, type Received } from './raw-websocket.ts';
import { checkAlive, checkProperty } from './check.ts';
import { object, raw, serialize } from './json-arbitraries.ts';
import type { FuzzStats } from './stats.ts';
import type { FuzzTarget } from './target.ts';
import { wsCaseArb, type FuzzRoom, type WsCase, type WsStep } from './ws-arbitraries.ts';
import { FuzzReviewHandler, reviewed } from './review-handler.ts';
import { expectMessage, MAX_MESSAGE_LENGTH, type Connection, type WsExpect } from './ws-model.ts';

// The WebSocket fuzz property: each case opens a connection with a token of the case's
// capabilities, sends its steps one at a time, and checks each answer against the model before
// the next step. A connection still open at the end gets a probe whose ERROR must be the very next
// frame, so nothing unexpected was sent in between.

export interface WsFuzzOptions {
  runs: number;
  seed?: number;
  /** How long any one answer may take (generous: the machine is shared and slow). */
  boundMs: number;
  /** Cases between two liveness rounds. */
  livenessEvery: number;
  /** Replays one counterexample (fast-check's path, printed with a failure). */
  path?: string;
  /** Shrink a failure (slow when each try waits out the bound). */
  shrink: boolean;
  onCase?: (c: WsCase) => void;
}

/**
 * How the WebSocket fuzz target runs: caps lifted, and a review timeout far above what the local
 * handler needs, so that a slow moment of a busy machine is not mistaken for the handler's verdict.
 */
export const WS_TARGET_ARGS = ['--bench', '--review-timeout-ms', '5000'];

export interface WsFuzzEnv {
  target: FuzzTarget;
  rooms: Record<FuzzRoom, string>;
  reviewer: FuzzReviewHandler;
  liveness: LivenessPair;
  stats: FuzzStats;
}

/**
 * Rooms built for fuzzing, the room rate lifted (the target runs with --bench) so that valid sends
 * never meet 429; two of them review every message with the fuzzer's handler.
 */
export async function openWsFuzzEnv(target: FuzzTarget, stats: FuzzStats): Promise<WsFuzzEnv> {
  const reviewer = await FuzzReviewHandler.start();
  const create = async (name: string, review?: 'ALLOW' | 'DENY') =>
    (
      await target.call<{ arn: string }>('CreateRoom', {
        name,
        maximumMessageRatePerSecond: 1_000_000,
        ...(review ? { messageReviewHandler: { uri: reviewer.url, fallbackResult: review } } : {}),
      })
    ).arn;
  const rooms = { plain: await create('fuzz'), 'review-allow': await create('fuzz-review-allow', 'ALLOW'), 'review-deny': await create('fuzz-review-deny', 'DENY') };
  const liveness = await LivenessPair.open(target, rooms.plain);
  await liveness.check();
  return { target, rooms, reviewer, liveness, stats };
}

export async function closeWsFuzzEnv(env: WsFuzzEnv): Promise<void> {
  env.liveness.close();
  await env.reviewer.close();
}

export async function fuzzWebSocket(env: WsFuzzEnv, options: WsFuzzOptions): Promise<void> {
  let cases = 0;
  await checkProperty(
    'ws',
    wsCaseArb,
    async (c) => {
      if (cases++ % options.livenessEvery === 0) await env.liveness.check();
      options.onCase?.(c);
      await runCase(env, c, options.boundMs);
      checkAlive(env.target);
    },
    options,
  );
  await env.liveness.check();
}

export async function runCase(env: WsFuzzEnv, c: WsCase, boundMs: number): Promise<void> {
  const tokenAttributes = c.tokenAttributes.length > 0 ? serialize(object(c.tokenAttributes.map(([k, v]) => [k, raw(v)]))) : undefined;
  const { token } = await env.target.call<{ token: string }>(
    'CreateChatToken',
    `{"roomIdentifier":${JSON.stringify(env.rooms[c.room])},"userId":${JSON.stringify(c.userId)},"capabilities":${JSON.stringify(c.capabilities)}` +
      `${tokenAttributes ? `,"attributes":${tokenAttributes}` : ''}}`,
  );
  const ws = await RawWebSocket.open(env.target.wsUrl, token, boundMs);
  const connection: Connection = { capabilities: c.capabilities, userId: c.userId };
  // As JSON.parse on the server makes them: __proto__ an own key.
  const sender = JSON.parse(tokenAttributes ? `{"UserId":${JSON.stringify(c.userId)},"Attributes":${tokenAttributes}}` : `{"UserId":${JSON.stringify(c.userId)}}`) as unknown;
  const review = c.room === 'plain' ? undefined : { fallback: c.room === 'review-allow' ? ('ALLOW' as const) : ('DENY' as const), handler: env.reviewer, roomArn: env.rooms[c.room] };
  const stats = env.stats;
  stats.count('ws-case');
  try {
    let cursor = 0;
    for (const [index, step] of c.steps.entries()) {
      stats.count(step.cls);
      const { writes, expects, halfClose } = plan(step, connection);
      for (const bytes of writes) {
        await write(ws, bytes, c.trickle);
        stats.frames++;
      }
      if (halfClose) ws.socket.end();
      for (const unreviewed of expects) {
        const expect = review ? reviewed(unreviewed, review.fallback, MAX_MESSAGE_LENGTH) : unreviewed;
        cursor = await verify(ws, { ...connection, review, sender }, expect, cursor, boundMs, `step ${index} (${step.cls})`);
        stats.outcome(outcomeLabel(expect));
        if (ws.ended) return;
      }
    }
    // Nothing else may come before the probe's ERROR: that proves no step got two answers.
    ws.sendText('{"Action":"FUZZ_PROBE","RequestId":"fuzz-probe"}');
    stats.frames++;
    await verify(ws, { ...connection, sender }, { kind: 'error', codes: [400], requestId: 'fuzz-probe', why: 'probe' }, cursor, boundMs, 'closing probe');
  } finally {
    ws.destroy();
    env.reviewer.asked.clear();
  }
}

function outcomeLabel(expect: WsExpect): string {
  return expect.kind === 'error' ? `error ${expect.codes.join('|')}` : expect.kind;
}

interface Plan {
  writes: Buffer[];
  expects: WsExpect[];
  halfClose: boolean;
}

const masked = (opcode: number, payload: Buffer, fin = true) => encodeFrame({ fin, rsv: 0, opcode, masked: true, payload });

function plan(step: WsStep, connection: Connection): Plan {
  switch (step.kind) {
    case 'text':
      return single(masked(OPCODE.text, Buffer.from(step.text)), expectMessage(Buffer.from(step.text), false, connection));
    case 'text-bytes':
      return single(masked(OPCODE.text, step.bytes), expectMessage(step.bytes, false, connection));
    case 'binary':
      return single(masked(OPCODE.binary, step.bytes), expectMessage(step.bytes, true, connection));
    case 'fragmented': {
      const cuts = [...new Set(step.cuts.map((n) => n % (step.bytes.length + 1)))].sort((x, y) => x - y);
      const parts: Buffer[] = [];
      let from = 0;
      for (const cut of [...cuts, step.bytes.length]) {
        if (cut < from) continue;
        parts.push(step.bytes.subarray(from, cut));
        from = cut;
      }
      const writes: Buffer[] = [];
      const expects: WsExpect[] = [];
      parts.forEach((part, i) => {
        const last = i === parts.length - 1;
        writes.push(masked(i === 0 ? step.opcode : OPCODE.continuation, part, last));
        // A control frame may come between fragments (RFC 6455 §5.4) and is answered at once.
        if (!last && step.pingAfter !== undefined && step.pingAfter % (parts.length - 1) === i) {
          writes.push(masked(OPCODE.ping, Buffer.from('between fragments')));
          expects.push({ kind: 'pong', payload: Buffer.from('between fragments') });
        }
      });
      expects.push(expectMessage(step.bytes, step.opcode === OPCODE.binary, connection));
      return { writes, expects, halfClose: false };
    }
    case 'ping':
      return single(masked(OPCODE.ping, step.payload), { kind: 'pong', payload: step.payload });
    case 'pong':
      return single(masked(OPCODE.pong, step.payload), { kind: 'silence' });
    case 'close':
      return single(masked(OPCODE.close, step.payload), { kind: 'close-echo' });
    case 'violation':
      // Two violations uWebSockets.js lets through, where RFC 6455 says to fail the connection: it
      // does not check the MASK bit (it reads four payload bytes as the key and waits for the
      // rest), and it delivers an unfragmented binary frame that interrupts a fragmented text
      // message (chatstorm answers it with ERROR 400). Nothing in chatstorm sees raw frames, so
      // what can be asked is that the misread bytes do no harm and the connection ends when the
      // client's does.
      if (step.variant === 'unmasked' || step.variant === 'interrupted-by-binary') return { writes: [step.bytes], expects: [{ kind: 'end', anyAnswer: true }], halfClose: true };
      return single(step.bytes, { kind: 'fail', why: step.variant });
    case 'truncated':
      return {
        writes: [encodeFrame({ fin: true, rsv: 0, opcode: OPCODE.text, masked: true, payload: step.bytes, announcedLength: step.announced })],
        expects: [{ kind: 'end', anyAnswer: false }],
        halfClose: true,
      };
  }
}

function single(bytes: Buffer, expect: WsExpect): Plan {
  return { writes: [bytes], expects: [expect], halfClose: false };
}

async function write(ws: RawWebSocket, bytes: Buffer, trickle: boolean): Promise<void> {
  if (!trickle) {
    ws.write(bytes);
    return;
  }
  // The head of each frame a byte or three at a time, each in its own TCP segment.
  const head = Math.min(bytes.length, 16);
  for (let i = 0; i < head; ) {
    const n = 1 + (i % 3);
    ws.write(bytes.subarray(i, i + n));
    i += n;
    await new Promise((resolve) => setImmediate(resolve));
  }
  if (bytes.length > head) ws.write(bytes.subarray(head));
}

const show = (item: Received | undefined) => {
  if (!item) return 'nothing';
  const text = item.kind === 'json' ? JSON.stringify(item.value) : item.kind === 'close-frame' ? `close frame ${item.code} ${item.reason}` : `${item.kind} ${item.payload.toString('hex')}`;
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
};

class Mismatch extends Error {
  override name = 'WebSocketOracleFailure';
}

/** Checks the next answer(s) from `cursor` against `expect`; returns the new cursor. */
interface Checked extends Connection {
  /** The Sender object every MESSAGE of this connection must carry. */
  sender: unknown;
  review?: { handler: FuzzReviewHandler; roomArn: string };
}

async function verify(ws: RawWebSocket, connection: Checked, expect: WsExpect, cursor: number, boundMs: number, where: string): Promise<number> {
  const fail = (what: string, got?: Received): never => {
    const tail = ws.received.slice(cursor).map(show).join(' | ');
    throw new Mismatch(
      `${where}: expected ${describe(expect)}; ${what}${got ? `: ${show(got)}` : ''}` +
        ` [received since: ${tail || 'nothing'}; connection ${ws.ended ? 'ended' : 'open'}${ws.serverError ? `; ${ws.serverError.message}` : ''}]`,
    );
  };
  const next = async (): Promise<[Received | undefined, number]> => {
    const item = await ws.waitFor((r) => r.kind !== 'ping', cursor, boundMs);
    if (ws.serverError) fail('the server sent a malformed frame');
    return [item, item ? ws.received.indexOf(item, cursor) + 1 : cursor];
  };
  const awaitEnd = async (allowed: (r: Received) => boolean, what: string) => {
    if (!(await ws.waitForEnd(boundMs))) fail(`the connection was still open after ${boundMs} ms`);
    if (ws.serverError) fail('the server sent a malformed frame');
    const extra = ws.received.slice(cursor).find((r) => r.kind !== 'ping' && !allowed(r));
    if (extra) fail(`${what}, but got`, extra);
    return ws.received.length;
  };

  switch (expect.kind) {
    case 'silence':
      return cursor;
    case 'fail':
      // uWS ends the TCP connection without a close frame; a close frame first (1002/1007/1009) is as right.
      return awaitEnd((r) => r.kind === 'close-frame' && [1002, 1007, 1009].includes(r.code ?? 0), 'no answer but the end of the connection');
    case 'end':
      return awaitEnd((r) => expect.anyAnswer || r.kind === 'close-frame', 'no answer but the end of the connection');
    case 'close-echo': {
      const [item, at] = await next();
      if (item?.kind !== 'close-frame') fail('no close frame came back', item);
      cursor = at;
      return awaitEnd(() => false, 'nothing after the close frame');
    }
    case 'pong': {
      const [item, at] = await next();
      if (item?.kind !== 'pong' || !item.payload.equals(expect.payload)) fail('no matching pong', item);
      return at;
    }
    case 'error':
    case 'message':
    case 'event': {
      const [item, at] = await next();
      if (item?.kind !== 'json') fail(ws.ended ? 'the connection ended instead' : `nothing within ${boundMs} ms`, item);
      const frame = (item as Extract<Received, { kind: 'json' }>).value;
      let problem = mismatch(frame, expect, connection.sender);
      if (!problem && expect.kind === 'message' && expect.sent && connection.review) {
        problem = connection.review.handler.checkAsked(String(frame.Id), { ...expect.sent, userId: connection.userId, roomArn: connection.review.roomArn });
      }
      if (problem) fail(problem, item);
      if (expect.kind === 'event' && expect.thenClose) {
        cursor = at;
        const [close] = await next();
        if (close?.kind !== 'close-frame' || close.code !== 1000) fail('the disconnected user got no close 1000', close);
        return awaitEnd(() => true, '');
      }
      return at;
    }
  }
}

function mismatch(frame: Record<string, unknown>, expect: Extract<WsExpect, { kind: 'error' | 'message' | 'event' }>, sender: unknown): string | undefined {
  if (typeof frame.Id !== 'string' || !/^[a-zA-Z0-9]{12}$/.test(frame.Id)) return 'the frame has no 12-character Id';
  const requestIdRight = expect.requestId === undefined ? !('RequestId' in frame) : frame.RequestId === expect.requestId;
  switch (expect.kind) {
    case 'error':
      if (frame.Type !== 'ERROR') return `got a ${String(frame.Type)}`;
      if (!expect.codes.includes(frame.ErrorCode as number)) return `ErrorCode ${String(frame.ErrorCode)} is not the protocol's`;
      if (typeof frame.ErrorMessage !== 'string' || frame.ErrorMessage.length === 0) return 'the ERROR has no ErrorMessage';
      if (!requestIdRight) return 'the ERROR does not carry the request\'s RequestId';
      return undefined;
    case 'message': {
      if (frame.Type !== 'MESSAGE') return `got a ${String(frame.Type)}`;
      if (!requestIdRight) return 'the MESSAGE does not carry the RequestId';
      if (frame.Content !== expect.content) return 'the Content changed on the way';
      if (!isDeepStrictEqual(frame.Attributes, expect.attributes)) return 'the Attributes changed on the way';
      if (!isDeepStrictEqual(frame.Sender, sender)) return 'the Sender is wrong';
      if (typeof frame.SendTime !== 'string' || Number.isNaN(Date.parse(frame.SendTime))) return 'no SendTime';
      return undefined;
    }
    case 'event':
      if (frame.Type !== 'EVENT' || frame.EventName !== expect.eventName) return `got a ${String(frame.Type)} ${String(frame.EventName)}`;
      if (!requestIdRight) return 'the EVENT does not carry the RequestId';
      if (!isDeepStrictEqual(frame.Attributes, expect.attributes)) return 'the event Attributes are wrong';
      return undefined;
  }
}

function describe(expect: WsExpect): string {
  switch (expect.kind) {
    case 'error':
      return `ERROR ${expect.codes.join(' or ')} (${expect.why})${expect.requestId === undefined ? ' without RequestId' : ` with RequestId ${JSON.stringify(expect.requestId).slice(0, 60)}`}`;
    case 'message':
      return 'the MESSAGE echoed';
    case 'event':
      return `EVENT ${expect.eventName}${expect.thenClose ? ' then close 1000' : ''}`;
    case 'fail':
      return `the connection failed (${expect.why})`;
    case 'close-echo':
      return 'a close frame and the end of the connection';
    case 'end':
      return 'the end of the connection';
    case 'pong':
      return 'a pong with the ping\'s payload';
    case 'silence':
      return 'nothing';
  }
}
