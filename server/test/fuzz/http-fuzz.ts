import { connect } from 'node:net';
import fc from 'fast-check';
import { checkAlive, checkProperty } from './check.ts';
import { httpCaseArb, render, type ArnPool, type HttpCase } from './http-arbitraries.ts';
import { keyArb, object, raw, serialize, treeArb } from './json-arbitraries.ts';
import { expectHttp, judgeHttp } from './http-model.ts';
import { sendHttp } from './http-raw.ts';
import type { KnownDefect } from './known-defects.ts';
import { LivenessPair } from './liveness.ts';
import { OPERATIONS } from './operations.ts';
import type { FuzzStats } from './stats.ts';
import type { FuzzTarget } from './target.ts';

// The HTTP fuzz properties: one request per case against a target with quotas off (so that every
// request reaches validation), and bursts past the real quotas against a second target with them
// on. Each exchange is judged by http-model.ts.

export interface HttpFuzzOptions {
  runs: number;
  seed?: number;
  path?: string;
  boundMs: number;
  livenessEvery: number;
  shrink: boolean;
  skip: ReadonlySet<KnownDefect>;
  onCase?: (c: HttpCase) => void;
}

export interface HttpFuzzEnv {
  /** Quotas off: every request is validated. */
  open: FuzzTarget;
  /** The real quotas on: bursts meet ThrottlingException. */
  quota: FuzzTarget;
  pool: ArnPool;
  liveness: LivenessPair;
  stats: FuzzStats;
}

/** Resources for the fuzzer to aim at on a target, and look-alikes that do not exist. */
async function poolOf(target: FuzzTarget): Promise<ArnPool> {
  const room = await target.call<{ arn: string }>('CreateRoom', { name: 'victim' });
  const config = await target.call<{ arn: string }>('CreateLoggingConfiguration', { name: 'victim', destinationConfiguration: { s3: { bucketName: 'victim-bucket' } } });
  const base = room.arn.slice(0, room.arn.lastIndexOf('/') + 1);
  return {
    arns: [
      room.arn,
      config.arn,
      `${base}AAAAAAAAAAAA`,
      config.arn.replace(/\/[^/]+$/, '/BBBBBBBBBBBB'),
      room.arn.replace('us-east-1', 'eu-west-1'),
      room.arn.replace(':room/', ':channel/'),
      'arn:aws:ivschat:us-east-1:123456789012:room/',
      'not-an-arn',
      '',
      `${room.arn}/../../x`,
    ],
  };
}

export async function openHttpFuzzEnv(open: FuzzTarget, quota: FuzzTarget, stats: FuzzStats): Promise<HttpFuzzEnv> {
  const pool = await poolOf(open);
  // The good clients' room is one the fuzzer is never told about.
  const room = await open.call<{ arn: string }>('CreateRoom', { name: 'liveness', maximumMessageRatePerSecond: 100 });
  const liveness = await LivenessPair.open(open, room.arn);
  await liveness.check();
  return { open, quota, pool, liveness, stats };
}

export async function exchange(target: FuzzTarget, c: HttpCase, boundMs: number) {
  return sendHttp(target.url, render(c), {
    boundMs,
    trickle: c.trickle ? { chunk: 7, gapMs: 1 } : undefined,
    halfClose: c.framing === 'truncated',
    awaitEnd: c.framing === 'truncated',
  });
}

export async function fuzzHttp(env: HttpFuzzEnv, options: HttpFuzzOptions): Promise<void> {
  let cases = 0;
  await checkProperty(
    'http-requests',
    httpCaseArb(env.pool, options.skip),
    async (c) => {
      if (cases++ % options.livenessEvery === 0) await env.liveness.check();
      options.onCase?.(c);
      env.stats.count(c.cls.startsWith('op:') ? 'operation' : c.cls);
      env.stats.count(c.cls);
      env.stats.requests++;
      const expect = expectHttp(c, false);
      const result = await exchange(env.open, c, options.boundMs);
      env.stats.outcome(result.response ? `status ${result.response.status}` : result.ended ? 'closed' : 'no answer');
      const problem = judgeHttp(c, expect, result, options.boundMs);
      if (problem) throw new Error(`${c.cls}: ${problem}`);
      checkAlive(env.open);
    },
    options,
  );
  await env.liveness.check();
}

const QUOTA_LIMITED = OPERATIONS.filter((o) => 'path' in o.route && ['GetRoom', 'ListRooms', 'GetLoggingConfiguration', 'UpdateRoom', 'SendEvent', 'DisconnectUser'].includes(o.name));

/** Bursts of concurrent requests past an operation's quota, identifiers of every type included. */
export async function fuzzQuotaBursts(env: HttpFuzzEnv, options: HttpFuzzOptions): Promise<void> {
  // Mostly valid identifiers: a request is charged to the quota only once it validates, so a burst
  // must carry enough valid ones to go past the quota; the rest must get their 400 in the burst.
  const identifier = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...env.pool.arns).map(raw) },
    { weight: 1, arbitrary: treeArb },
    { weight: 1, arbitrary: fc.array(fc.tuple(keyArb, treeArb), { maxLength: 2 }).map(object) },
  );
  const bodyArb = fc
    .record({ roomIdentifier: identifier, identifier, userId: fc.string({ maxLength: 8 }).map(raw), eventName: fc.constant(raw('e')) }, { requiredKeys: [] })
    .map((members) => serialize(object(Object.entries(members))));
  const burst = fc.record({ op: fc.constantFrom(...QUOTA_LIMITED), bodies: fc.array(bodyArb, { minLength: 8, maxLength: 20 }) });
  await checkProperty(
    'http-bursts',
    burst,
    async ({ op, bodies }) => {
      env.stats.count('quota-burst');
      const results = await Promise.all(
        bodies.map(async (body) => {
          const c: HttpCase = { cls: `burst:${op.name}`, method: 'POST', target: (op.route as { path: string }).path, version: 'HTTP/1.1', contentType: 'application/json', body: Buffer.from(body), framing: 'length', missing: 0, trickle: false };
          env.stats.requests++;
          const result = await exchange(env.quota, c, options.boundMs);
          env.stats.outcome(result.response ? `status ${result.response.status}` : 'no answer');
          return { body, problem: judgeHttp(c, expectHttp(c, true), result, options.boundMs) };
        }),
      );
      const failed = results.find((r) => r.problem);
      if (failed) throw new Error(`${op.name} burst of ${bodies.length}: ${failed.problem} (body ${failed.body.slice(0, 200)})`);
      checkAlive(env.quota);
    },
    { ...options, runs: Math.max(1, Math.ceil(options.runs / 50)) },
  );
}

/**
 * Slow senders that never finish: heads and bodies trickled a byte at a time. Each connection
 * must be cut by the server within `boundMs`; returns the ones that were not.
 */
export async function checkSlowloris(target: FuzzTarget, boundMs: number, gapMs = 2000): Promise<string[]> {
  const { port } = new URL(target.url);
  const attempts = [
    { name: 'head a byte at a time', bytes: 'POST /ListRooms HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ' + 'a'.repeat(1000) },
    { name: 'body a byte at a time', bytes: 'POST /ListRooms HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n' + ' '.repeat(1000) },
  ];
  const survivors = await Promise.all(
    attempts.map(
      (attempt) =>
        new Promise<string | undefined>((resolve) => {
          const socket = connect({ host: '127.0.0.1', port: Number(port) });
          const bytes = Buffer.from(attempt.bytes);
          // The head's first line at once, then one byte per gap.
          let sent = attempt.bytes.indexOf('\r\n') + 2;
          socket.write(bytes.subarray(0, sent));
          const drip = setInterval(() => {
            if (sent < bytes.length) socket.write(bytes.subarray(sent, ++sent));
          }, gapMs);
          const timer = setTimeout(() => {
            clearInterval(drip);
            socket.destroy();
            resolve(`${attempt.name}: still open after ${boundMs} ms`);
          }, boundMs);
          socket.on('error', () => {});
          socket.on('close', () => {
            clearInterval(drip);
            clearTimeout(timer);
            resolve(undefined);
          });
        }),
    ),
  );
  return survivors.filter((s): s is string => s !== undefined);
}
