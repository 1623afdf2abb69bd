import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../src/config.ts';
import { startServer } from '../src/server.ts';
import { keyIdOf } from '../src/tokens/token-keys.ts';
import { createRoom } from './support/chat.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer } from './support/server.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));
const KEY_A = randomBytes(32);
const KEY_B = randomBytes(32);

function keyFile(current: Buffer, previous: Buffer[] = []): string {
  return JSON.stringify({ current: current.toString('base64'), previous: previous.map((k) => k.toString('base64')) });
}

/** The server as its own process, so that SIGHUP is the real signal; collects its output. */
class ServerProcess {
  output = '';
  readonly child: ChildProcess;
  private readonly exited: Promise<number | null>;
  private waiters: Array<() => void> = [];

  constructor(args: string[]) {
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
      for (const wake of this.waiters.splice(0)) wake();
    };
    this.child.stdout!.on('data', collect);
    this.child.stderr!.on('data', collect);
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code) => {
        for (const wake of this.waiters.splice(0)) wake();
        resolve(code);
      }),
    );
  }

  /** Waits until the output from `from` on matches, or fails after `ms` with the output so far. */
  async waitForOutput(pattern: RegExp, from = 0, ms = 20_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + ms;
    for (;;) {
      const match = pattern.exec(this.output.slice(from));
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`the server exited (${this.child.exitCode ?? this.child.signalCode}) before printing ${pattern}:\n${this.output}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the server did not print ${pattern} within ${ms} ms:\n${this.output}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends SIGHUP and resolves with the reload's log line (ok or not). */
  async reload(): Promise<string> {
    const from = this.output.length;
    this.child.kill('SIGHUP');
    return (await this.waitForOutput(/^.*chat token keys (?:reloaded|not reloaded).*$/m, from))[0];
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null) this.child.kill('SIGTERM');
    assert.equal(await this.exited, 0, this.output);
  }
}

async function api(url: string, operation: string, input: Record<string, unknown>): Promise<Record<string, unknown>> {
  const response = await fetch(`${url}/${operation}`, { method: 'POST', body: JSON.stringify(input) });
  const body = (await response.json()) as Record<string, unknown>;
  assert.equal(response.status, 200, JSON.stringify(body));
  return body;
}

async function refusedStatus(wsUrl: string, token: string): Promise<number> {
  try {
    const socket = await RawChatSocket.connect(wsUrl, token);
    socket.close();
  } catch (error) {
    return (error as { status: number }).status;
  }
  assert.fail('the token was accepted, but it must be refused');
}

describe('chat token key rotation with --token-key-file and SIGHUP', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'chatstorm-rotation-'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('rotating A→B keeps A-tokens and live sessions working, seals new tokens with B, and once A is removed its tokens get 401', async () => {
    const keys = join(dir, 'keys.json');
    await writeFile(keys, keyFile(KEY_A));
    const server = new ServerProcess(['--data-dir', join(dir, 'data'), '--token-key-file', keys]);
    try {
      const url = (await server.waitForOutput(/chatstorm listening on (http:\/\/[^"\s]+)/))[1]!;
      const wsUrl = url.replace('http', 'ws');
      const room = await api(url, 'CreateRoom', {});
      const mint = async (userId: string) =>
        String((await api(url, 'CreateChatToken', { roomIdentifier: room.arn, userId, capabilities: ['SEND_MESSAGE'] })).token);

      const live = await RawChatSocket.connect(wsUrl, await mint('live'));
      const [beforeRotation, keptForRemoval] = [await mint('a1'), await mint('a2')];
      assert.ok(beforeRotation.startsWith(`v2.${keyIdOf(KEY_A)}.`), `a token sealed with A names A: ${beforeRotation.slice(0, 12)}`);

      await writeFile(keys, keyFile(KEY_B, [KEY_A]));
      assert.match(await server.reload(), /"msg":"chat token keys reloaded"/);

      const fromBeforeRotation = await RawChatSocket.connect(wsUrl, beforeRotation);
      live.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'after-rotation', Content: 'still here' }));
      assert.equal((await live.waitFor((f) => f.Type === 'MESSAGE' && f.Content === 'still here')).Content, 'still here');
      await fromBeforeRotation.waitFor((f) => f.Type === 'MESSAGE' && f.Content === 'still here');

      const afterRotation = await mint('b1');
      assert.ok(afterRotation.startsWith(`v2.${keyIdOf(KEY_B)}.`), `a new token is sealed with B: ${afterRotation.slice(0, 12)}`);
      (await RawChatSocket.connect(wsUrl, afterRotation)).close();

      await writeFile(keys, keyFile(KEY_B));
      assert.match(await server.reload(), /"msg":"chat token keys reloaded"/);
      assert.equal(await refusedStatus(wsUrl, keptForRemoval), 401, 'an unused A-token within its lifetime is refused once A is gone');
      (await RawChatSocket.connect(wsUrl, await mint('b2'))).close();

      // Sessions opened with A are not cut by removing A: the token was checked at the handshake only.
      live.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'after-removal', Content: 'still open' }));
      await live.waitFor((f) => f.Type === 'MESSAGE' && f.Content === 'still open');
      assert.equal(live.closeCode, undefined);

      const metrics = await (await fetch(`${url}/metrics`)).text();
      assert.match(metrics, /^chatstorm_token_key_reloads_total\{outcome="ok"\} 2$/m);
      assert.match(metrics, /^chatstorm_token_keys 1$/m);
      live.close();
      fromBeforeRotation.close();
    } finally {
      await server.stop();
    }
  });

  test('a reload of an invalid key file changes nothing: the keys in use stay, and the error is logged and counted', async () => {
    const keys = join(dir, 'bad-reload.json');
    await writeFile(keys, keyFile(KEY_A));
    const server = new ServerProcess(['--data-dir', join(dir, 'data-bad'), '--token-key-file', keys]);
    try {
      const url = (await server.waitForOutput(/chatstorm listening on (http:\/\/[^"\s]+)/))[1]!;
      const room = await api(url, 'CreateRoom', {});
      for (const content of ['{"current": "not base64"}', '{"curent": "x"}', 'not json']) {
        await writeFile(keys, content);
        const line = await server.reload();
        assert.match(line, /chat token keys not reloaded; the keys in use stay/);
        assert.match(line, /bad-reload\.json/, 'the log names the file');
      }
      const { token } = await api(url, 'CreateChatToken', { roomIdentifier: room.arn, userId: 'u' });
      assert.ok(String(token).startsWith(`v2.${keyIdOf(KEY_A)}.`));
      (await RawChatSocket.connect(url.replace('http', 'ws'), String(token))).close();
      assert.match(await (await fetch(`${url}/metrics`)).text(), /^chatstorm_token_key_reloads_total\{outcome="error"\} 3$/m);
    } finally {
      await server.stop();
    }
  });

  test('SIGHUP without --token-key-file is harmless: the server keeps running and says there is nothing to reload', async () => {
    const server = new ServerProcess(['--data-dir', join(dir, 'data-nofile')]);
    try {
      const url = (await server.waitForOutput(/chatstorm listening on (http:\/\/[^"\s]+)/))[1]!;
      const from = server.output.length;
      server.child.kill('SIGHUP');
      await server.waitForOutput(/no --token-key-file to reload/, from);
      assert.equal((await fetch(`${url}/healthz`)).status, 200);
    } finally {
      await server.stop();
    }
  });
});

describe('token key configuration and formats', () => {
  test('a token of the format before rotation (v1, no key id) is still accepted within its lifetime', async () => {
    const server = await startTestServer(['--token-key', KEY_A.toString('base64')]);
    try {
      const room = await createRoom(server);
      // The v1 format, sealed here as the previous version of chat-token.ts did.
      const now = Date.now();
      const claims = { j: randomBytes(16).toString('base64url'), r: room.id, u: 'legacy', c: 1, t: now + 60_000, s: now + 60_000 };
      const iv = randomBytes(12);
      const cipher = createCipheriv('aes-256-gcm', KEY_A, iv);
      cipher.setAAD(Buffer.from('v1'));
      const body = Buffer.concat([cipher.update(JSON.stringify(claims), 'utf8'), cipher.final()]);
      const legacy = `v1.${Buffer.concat([iv, body, cipher.getAuthTag()]).toString('base64url')}`;
      const socket = await RawChatSocket.connect(server.wsUrl, legacy);
      socket.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'r', Content: 'from v1' }));
      const message = await socket.waitFor((f) => f.Type === 'MESSAGE');
      assert.equal((message.Sender as { UserId: string }).UserId, 'legacy');
      socket.close();
      assert.equal(await refusedStatus(server.wsUrl, `v1.${Buffer.concat([iv, body.reverse(), cipher.getAuthTag()]).toString('base64url')}`), 401);
    } finally {
      await server.stop();
    }
  });

  test('a token naming a key id the server does not have, or altered, is refused with 401', async () => {
    const server = await startTestServer(['--token-key', KEY_B.toString('base64')]);
    try {
      const room = await createRoom(server);
      const token = server.ctx.tokens.seal({ roomId: room.id, userId: 'u', attributes: undefined, capabilities: 0, tokenExpiresAt: Date.now() + 60_000, sessionExpiresAt: Date.now() + 60_000 }).token;
      const [version, id, payload] = token.split('.') as [string, string, string];
      assert.equal(id, keyIdOf(KEY_B));
      assert.equal(await refusedStatus(server.wsUrl, `${version}.${keyIdOf(KEY_A)}.${payload}`), 401);
      assert.equal(await refusedStatus(server.wsUrl, `${version}.${id}.${payload.slice(0, -2)}AA`), 401);
      (await RawChatSocket.connect(server.wsUrl, token)).close();
    } finally {
      await server.stop();
    }
  });

  test('a missing or invalid key file stops start-up with a message naming the file; --token-key with --token-key-file is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'chatstorm-keyfile-'));
    try {
      const missing = join(dir, 'missing.json');
      await assert.rejects(startServer(loadConfig(['--port', '0', '--data-dir', dir, '--token-key-file', missing], { CHATSTORM_LOG_LEVEL: 'silent' })), (error: Error) =>
        error.message.includes(`token key file ${missing}`) && /ENOENT/.test(error.message),
      );
      const short = join(dir, 'short.json');
      await writeFile(short, JSON.stringify({ current: randomBytes(16).toString('base64') }));
      await assert.rejects(startServer(loadConfig(['--port', '0', '--data-dir', dir, '--token-key-file', short], { CHATSTORM_LOG_LEVEL: 'silent' })), /current: must be base64 of 32 bytes/);
      assert.throws(() => loadConfig(['--token-key', KEY_A.toString('base64'), '--token-key-file', short], {}), /either --token-key or --token-key-file/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
