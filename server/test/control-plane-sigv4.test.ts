import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { Sha256 } from '@aws-crypto/sha256-js';
import {
  CreateChatTokenCommand,
  CreateRoomCommand,
  IvschatClient,
  ListRoomsCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
  type IvschatClientConfig,
} from '@aws-sdk/client-ivschat';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import type { FinalizeRequestMiddleware, MetadataBearer } from '@smithy/types';
import { ConfigError, loadConfig } from '../src/config.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer, type TestServer } from './support/server.ts';

const KEY = { accessKeyId: 'AKIDCHATSTORM', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY' };
const OTHER_KEY = { accessKeyId: 'AKIDSECOND', secretAccessKey: 'second/secret+key' };

/** What the SDK surfaces of a refused call: the error's name, HTTP status and message. */
async function refusal(call: Promise<unknown>): Promise<{ name: string; status: number | undefined; message: string }> {
  try {
    await call;
  } catch (error) {
    const e = error as Error & { $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  assert.fail('the call succeeded, but it must be refused');
}

/** Signs a request by hand with the SDK's signer, as any SigV4 client may, at a chosen time. */
async function signedFetch(
  server: TestServer,
  path: string,
  body: string,
  options: { key?: typeof KEY; signingDate?: Date; sendBody?: string; headers?: Record<string, string>; applyChecksum?: boolean } = {},
): Promise<{ status: number; errorType: string | null; body: Record<string, unknown> }> {
  const url = new URL(server.url + path);
  // applyChecksum (the default) adds a signed x-amz-content-sha256 header, as @aws-sdk/client-ivschat does.
  const signer = new SignatureV4({ credentials: options.key ?? KEY, region: 'us-east-1', service: 'ivschat', sha256: Sha256, applyChecksum: options.applyChecksum ?? true });
  const signed = await signer.sign(
    new HttpRequest({
      method: 'POST',
      protocol: 'http:',
      hostname: url.hostname,
      port: Number(url.port),
      path: url.pathname,
      headers: { host: url.host, 'content-type': 'application/json', ...options.headers },
      body,
    }),
    { signingDate: options.signingDate ?? new Date() },
  );
  const response = await fetch(url, { method: 'POST', headers: signed.headers, body: options.sendBody ?? body });
  return { status: response.status, errorType: response.headers.get('x-amzn-errortype'), body: (await response.json()) as Record<string, unknown> };
}

/** Lets a test alter what the SDK sends once it has signed it, to see what the SDK makes of the answer. */
function afterSigning(client: IvschatClient, edit: (headers: Record<string, string>) => void): void {
  const middleware: FinalizeRequestMiddleware<object, MetadataBearer> = (next) => (args) => {
    if (HttpRequest.isInstance(args.request)) edit(args.request.headers);
    return next(args);
  };
  client.middlewareStack.addRelativeTo(middleware, { relation: 'after', toMiddleware: 'httpSigningMiddleware', name: 'afterSigning' });
}

async function metricValue(server: TestServer, series: string): Promise<number> {
  const text = await (await fetch(server.metricsUrl)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  assert.ok(line, `${series} is not in /metrics`);
  return Number(line.split(' ')[1]);
}

describe('--auth sigv4: the control plane verifies AWS Signature Version 4 as the real service does', () => {
  let server: TestServer;
  const clients: IvschatClient[] = [];
  const client = (config: Partial<IvschatClientConfig> = {}) => {
    const c = new IvschatClient({ endpoint: server.url, region: 'us-east-1', credentials: KEY, maxAttempts: 1, ...config });
    clients.push(c);
    return c;
  };

  before(async () => {
    server = await startTestServer([
      '--auth',
      'sigv4',
      '--access-key',
      `${KEY.accessKeyId}:${KEY.secretAccessKey}`,
      '--access-key',
      `${OTHER_KEY.accessKeyId}:${OTHER_KEY.secretAccessKey}`,
    ]);
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await server.stop();
  });

  test('requests the official SDK signs with a configured key work, including path-addressed and query-string operations', async () => {
    for (const key of [KEY, OTHER_KEY]) {
      const ivschat = client({ credentials: key });
      const room = await ivschat.send(new CreateRoomCommand({ name: 'signed', tags: { team: 'a b/c', env: 'dev' } }));
      await ivschat.send(new TagResourceCommand({ resourceArn: room.arn!, tags: { 'key with spaces': 'v=1&2' } }));
      await ivschat.send(new UntagResourceCommand({ resourceArn: room.arn!, tagKeys: ['env', 'key with spaces'] }));
      const tags = await ivschat.send(new ListTagsForResourceCommand({ resourceArn: room.arn! }));
      assert.deepEqual(tags.tags, { team: 'a b/c' });
      const listed = await ivschat.send(new ListRoomsCommand({ name: 'signed' }));
      assert.ok(listed.rooms!.some((r) => r.arn === room.arn));
    }
  });

  test('a wrong secret is InvalidSignatureException (403), surfaced by name', async () => {
    const answer = await refusal(client({ credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: 'not-the-secret' } }).send(new ListRoomsCommand({})));
    assert.equal(answer.name, 'InvalidSignatureException');
    assert.equal(answer.status, 403);
    assert.match(answer.message, /signature we calculated does not match/);

    // The SDK retries InvalidSignatureException only for clock skew ("Signature expired", or its clock
    // corrected from the Date header): a wrong secret comes back at once, even with retries on.
    const retried = client({ credentials: { accessKeyId: KEY.accessKeyId, secretAccessKey: 'not-the-secret' }, maxAttempts: 3 });
    const error = (await retried.send(new ListRoomsCommand({})).catch((e: unknown) => e)) as Error & { $metadata: { attempts?: number } };
    assert.equal(error.name, 'InvalidSignatureException');
    assert.equal(error.$metadata.attempts, 1);
  });

  test('an access key id the server does not know is UnrecognizedClientException (403)', async () => {
    const answer = await refusal(client({ credentials: { accessKeyId: 'AKIDUNKNOWN', secretAccessKey: KEY.secretAccessKey } }).send(new ListRoomsCommand({})));
    assert.deepEqual(answer, { name: 'UnrecognizedClientException', status: 403, message: 'The security token included in the request is invalid.' });
  });

  test('temporary credentials (a session token) are UnrecognizedClientException even with a known key id', async () => {
    const answer = await refusal(client({ credentials: { ...KEY, sessionToken: 'FwoGZXIvYXdzE' } }).send(new ListRoomsCommand({})));
    assert.equal(answer.name, 'UnrecognizedClientException');
  });

  test('an unsigned request is MissingAuthenticationTokenException (403), from a raw fetch and from the SDK alike', async () => {
    const raw = await fetch(`${server.url}/ListRooms`, { method: 'POST', body: '{}' });
    assert.equal(raw.status, 403);
    assert.equal(raw.headers.get('x-amzn-errortype'), 'MissingAuthenticationTokenException');
    assert.deepEqual(await raw.json(), { __type: 'MissingAuthenticationTokenException', message: 'Missing Authentication Token' });

    const unsigned = client();
    afterSigning(unsigned, (headers) => delete headers.authorization);
    const answer = await refusal(unsigned.send(new ListRoomsCommand({})));
    assert.deepEqual(answer, { name: 'MissingAuthenticationTokenException', status: 403, message: 'Missing Authentication Token' });
  });

  test('a malformed Authorization header is IncompleteSignatureException (403) saying what is missing', async () => {
    const broken = client();
    afterSigning(broken, (headers) => (headers.authorization = headers.authorization!.replace(/, Signature=[0-9a-f]+/, '')));
    const answer = await refusal(broken.send(new ListRoomsCommand({})));
    assert.equal(answer.name, 'IncompleteSignatureException');
    assert.equal(answer.status, 403);
    assert.match(answer.message, /requires 'Signature' parameter/);

    for (const [authorization, expected] of [
      ['Bearer abc', /Unsupported Authorization Type/],
      ['AWS4-HMAC-SHA256 Credential=AKIDCHATSTORM/20240101/us-east-1/ivschat, SignedHeaders=host;x-amz-date, Signature=00', /exactly 5 slash-delimited elements/],
      ['AWS4-HMAC-SHA256 Credential=AKIDCHATSTORM/20240101/us-east-1/ivschat/aws4_request, SignedHeaders=x-amz-date, Signature=00', /'Host'.*must be a 'SignedHeader'/],
    ] as const) {
      const response = await fetch(`${server.url}/ListRooms`, {
        method: 'POST',
        headers: { authorization, 'x-amz-date': '20240101T000000Z' },
        body: '{}',
      });
      assert.equal(response.status, 403, authorization);
      assert.equal(response.headers.get('x-amzn-errortype'), 'IncompleteSignatureException', authorization);
      assert.match(((await response.json()) as { message: string }).message, expected);
    }
  });

  test('a request signed 6 minutes in the past or future is InvalidSignatureException "Signature expired" / "not yet current"', async () => {
    const past = await refusal(client({ systemClockOffset: -6 * 60_000 }).send(new ListRoomsCommand({})));
    assert.equal(past.name, 'InvalidSignatureException');
    assert.equal(past.status, 403);
    assert.match(past.message, /^Signature expired: \d{8}T\d{6}Z is now earlier than \d{8}T\d{6}Z \(\d{8}T\d{6}Z - 5 min\.\)$/);

    const future = await refusal(client({ systemClockOffset: 6 * 60_000 }).send(new ListRoomsCommand({})));
    assert.equal(future.name, 'InvalidSignatureException');
    assert.match(future.message, /^Signature not yet current: .* \+ 5 min\.\)$/);

    // Signed by hand at a fixed time: the same answer, whatever client sends it.
    const byHand = await signedFetch(server, '/ListRooms', '{}', { signingDate: new Date(Date.now() - 6 * 60_000) });
    assert.equal(byHand.status, 403);
    assert.equal(byHand.errorType, 'InvalidSignatureException');
    assert.match(String(byHand.body.message), /^Signature expired/);
    // Within the window it is accepted.
    assert.equal((await signedFetch(server, '/ListRooms', '{}', { signingDate: new Date(Date.now() - 4 * 60_000) })).status, 200);
  });

  test('the SDK with retries on corrects a 6-minute clock skew from the Date header and its retry succeeds', async () => {
    const skewed = client({ systemClockOffset: -6 * 60_000, maxAttempts: 2 });
    const output = await skewed.send(new ListRoomsCommand({}));
    assert.equal(output.$metadata.attempts, 2, 'the first attempt was refused as stale, the second signed with the corrected clock');
    assert.ok(Math.abs(skewed.config.systemClockOffset!) < 60_000, `offset after correction: ${skewed.config.systemClockOffset}`);
  });

  test('a body changed after signing is InvalidSignatureException, with or without a signed x-amz-content-sha256 naming the signed body', async () => {
    const body = '{"name":"signed-name"}';
    const altered = await signedFetch(server, '/CreateRoom', body, { sendBody: '{"name":"other-name"}', applyChecksum: false });
    assert.equal(altered.status, 403);
    assert.equal(altered.errorType, 'InvalidSignatureException');
    assert.match(String(altered.body.message), /signature we calculated does not match/);

    const signedHash = await signedFetch(server, '/CreateRoom', body, {
      sendBody: '{"name":"other-name"}',
      headers: { 'x-amz-content-sha256': createHash('sha256').update(body).digest('hex') },
    });
    assert.equal(signedHash.errorType, 'InvalidSignatureException');
    assert.match(String(signedHash.body.message), /x-amz-content-sha256/);
    assert.equal((await signedFetch(server, '/CreateRoom', body)).status, 200);
    assert.equal((await signedFetch(server, '/CreateRoom', body, { applyChecksum: false })).status, 200);
  });

  test('a credential scoped to another region is InvalidSignatureException', async () => {
    const answer = await refusal(
      new IvschatClient({ endpoint: server.url, region: 'eu-west-1', credentials: KEY, maxAttempts: 1 }).send(new ListRoomsCommand({})),
    );
    assert.equal(answer.name, 'InvalidSignatureException');
    assert.match(answer.message, /scoped to a valid region/);
  });

  test('refusals are counted by reason; /metrics and /healthz stay open; chat tokens, not SigV4, open the WebSocket', async () => {
    const before = await metricValue(server, 'chatstorm_api_auth_refusals_total{reason="missing_authentication"}');
    await fetch(`${server.url}/ListRooms`, { method: 'POST', body: '{}' });
    assert.equal(await metricValue(server, 'chatstorm_api_auth_refusals_total{reason="missing_authentication"}'), before + 1);
    for (const reason of ['incomplete_signature', 'unrecognized_client', 'signature_expired', 'invalid_signature']) {
      assert.ok((await metricValue(server, `chatstorm_api_auth_refusals_total{reason="${reason}"}`)) >= 0);
    }
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);

    const ivschat = client();
    const room = await ivschat.send(new CreateRoomCommand({}));
    const { token } = await ivschat.send(new CreateChatTokenCommand({ roomIdentifier: room.arn, userId: 'viewer', capabilities: ['SEND_MESSAGE'] }));
    const socket = await RawChatSocket.connect(server.wsUrl, token!);
    socket.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'r1', Content: 'hello' }));
    const message = await socket.waitFor((frame) => frame.Type === 'MESSAGE');
    assert.equal(message.Content, 'hello');
    socket.close();
  });
});

describe('--auth configuration', () => {
  test('the default is open: any credentials work', () => {
    const config = loadConfig([], {});
    assert.equal(config.auth, 'none');
    assert.deepEqual(config.accessKeys, []);
  });

  test('--access-key repeats, CHATSTORM_ACCESS_KEYS is comma-separated, and a secret may hold / + = :', () => {
    const fromFlags = loadConfig(['--auth', 'sigv4', '--access-key', 'A1:s/e+c=r:et', '--access-key', 'B2:two'], {});
    assert.deepEqual(fromFlags.accessKeys, [
      { accessKeyId: 'A1', secretAccessKey: 's/e+c=r:et' },
      { accessKeyId: 'B2', secretAccessKey: 'two' },
    ]);
    const fromEnv = loadConfig([], { CHATSTORM_AUTH: 'sigv4', CHATSTORM_ACCESS_KEYS: 'A1:one, B2:two' });
    assert.deepEqual(fromEnv.accessKeys.map((k) => k.accessKeyId), ['A1', 'B2']);
  });

  test('sigv4 without keys, keys without sigv4, a malformed key and a repeated key id are refused with a clear message', () => {
    for (const [argv, expected] of [
      [['--auth', 'sigv4'], /--auth \/ CHATSTORM_AUTH: sigv4 needs at least one --access-key ID:SECRET/],
      [['--access-key', 'A:b'], /only checked with --auth sigv4/],
      [['--auth', 'sigv4', '--access-key', 'no-secret'], /--access-key \/ CHATSTORM_ACCESS_KEYS: ID:SECRET/],
      [['--auth', 'sigv4', '--access-key', 'A:b', '--access-key', 'A:c'], /access key id A is given twice/],
      [['--auth', 'basic'], /--auth \/ CHATSTORM_AUTH/],
    ] as const) {
      assert.throws(() => loadConfig([...argv], {}), (error: unknown) => error instanceof ConfigError && expected.test(error.message), argv.join(' '));
    }
  });
});

test('the server process refuses to start with --auth sigv4 and no key: exit 2 and a message that says what to add', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('../src/main.ts', import.meta.url)), '--port', '0', '--auth', 'sigv4'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, CHATSTORM_ACCESS_KEYS: '' },
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  assert.equal(code, 2, output);
  assert.match(output, /sigv4 needs at least one --access-key ID:SECRET/);
});
