import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { RawChatSocket } from './support/raw-socket.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Started {
  child: ChildProcess;
  url: string;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs the server exactly as `npm start` does, as its own process. */
function runServer(args: string[], env: Record<string, string> = {}): Started & { listening: Promise<string> } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const listening = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /chatstorm listening on (http:\/\/[^"\s]+)/.exec(output);
      if (match) resolve(match[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited with ${code} before listening:\n${output}`)));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  listening.catch(() => {});
  return { child, url: '', output: () => output, exited, listening };
}

describe('the server process', () => {
  let dataDir: string;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'chatstorm-process-'));
  });
  after(() => rm(dataDir, { recursive: true, force: true }));

  test('it prints where it listens, answers /healthz, and on SIGTERM closes sockets with 1001, flushes the store and exits 0', async () => {
    const server = runServer(['--port', '0', '--data-dir', dataDir]);
    const url = await server.listening;
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${url}/healthz`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'ok' });

    const room = (await (await fetch(`${url}/CreateRoom`, { method: 'POST', body: '{"name":"persisted"}' })).json()) as { arn: string };
    const { token } = (await (
      await fetch(`${url}/CreateChatToken`, { method: 'POST', body: JSON.stringify({ roomIdentifier: room.arn, userId: 'u' }) })
    ).json()) as { token: string };
    const socket = await RawChatSocket.connect(url.replace('http', 'ws'), token);

    server.child.kill('SIGTERM');
    assert.deepEqual(await socket.waitForClose(), { code: 1001, reason: 'Server shutting down' });
    assert.equal(await server.exited, 0);
    const store = JSON.parse(await readFile(join(dataDir, 'store.json'), 'utf8')) as { rooms: { arn: string; name: string }[] };
    assert.deepEqual(store.rooms.map((r) => [r.arn, r.name]), [[room.arn, 'persisted']]);
  });

  test('SIGINT shuts it down cleanly too', async () => {
    const server = runServer(['--port', '0', '--data-dir', dataDir]);
    await server.listening;
    server.child.kill('SIGINT');
    assert.equal(await server.exited, 0);
  });

  test('it refuses to start on the pure-JS uWebSockets.js fallback and says what to do', async () => {
    const server = runServer(['--port', '0', '--data-dir', dataDir], { UWS_USE_FALLBACK: '1' });
    assert.equal(await server.exited, 3);
    assert.match(server.output(), /refuses to run on the pure-JS fallback/);
    assert.match(server.output(), /@btc-vision\/uwebsockets\.js@20\.57\.0/);
    assert.match(server.output(), /--allow-uws-fallback/);
  });

  test('with --allow-uws-fallback it starts, warns loudly and reports the fallback in /metrics', async () => {
    const server = runServer(['--port', '0', '--data-dir', dataDir, '--allow-uws-fallback'], { UWS_USE_FALLBACK: '1' });
    const url = await server.listening;
    assert.match(server.output(), /RUNNING ON THE PURE-JS uWebSockets\.js FALLBACK/);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    assert.match(metrics, /^chatstorm_uws_fallback 1$/m);
    server.child.kill('SIGTERM');
    assert.equal(await server.exited, 0);
  });

  test('an invalid option exits 2 naming the option', async () => {
    const bad = runServer(['--port', 'eighty']);
    assert.equal(await bad.exited, 2);
    assert.match(bad.output(), /--port \/ PORT: /);
    const unknown = runServer(['--prot', '80']);
    assert.equal(await unknown.exited, 2);
    assert.match(unknown.output(), /Unknown option '--prot'/);
  });

  test('a port that is taken exits 1 with a clear message', async () => {
    const first = runServer(['--port', '0', '--data-dir', dataDir]);
    const url = await first.listening;
    const port = new URL(url).port;
    const second = runServer(['--port', port, '--data-dir', join(dataDir, 'second')]);
    assert.equal(await second.exited, 1);
    assert.match(second.output(), /cannot listen on 127\.0\.0\.1:\d+/);
    first.child.kill('SIGTERM');
    await first.exited;
  });
});
