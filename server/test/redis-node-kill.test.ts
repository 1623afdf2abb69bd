import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { CreateChatTokenCommand, IvschatClient } from '@aws-sdk/client-ivschat';
import { ChatRoom, createRoom, nextEvent, SendMessageRequest, type ChatRoomInstance } from './support/chat.ts';
import { eventually } from './support/nodes.ts';
import { REDIS_SKIP, startRedis } from './support/redis.ts';
import { startTestServer, type TestServer } from './support/server.ts';
import { TcpBalancer } from './support/tcp-balancer.ts';
import { within } from './support/within.ts';

const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

interface Node {
  child: ChildProcess;
  url: string;
  port: number;
}

/** One chatstorm node as its own process, exactly as `npm start` runs it. */
async function startNode(args: string[]): Promise<Node> {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, '--port', '0', '--api-quotas', 'off', '--log-level', 'info', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const url = await within(
    new Promise<string>((resolve, reject) => {
      const onData = (chunk: Buffer) => {
        output += chunk.toString();
        const match = /chatstorm listening on (http:\/\/[^"\s]+)/.exec(output);
        if (match) resolve(match[1]!);
      };
      child.stdout!.on('data', onData);
      child.stderr!.on('data', onData);
      child.once('exit', (code) => reject(new Error(`node exited with ${code} before listening:\n${output}`)));
    }),
    20_000,
    'a node process listening',
  ).catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  // Read on: a full pipe would stall the node's logging.
  child.stdout!.resume();
  return { child, url, port: Number(new URL(url).port) };
}

async function connections(node: Node): Promise<number> {
  const text = await (await fetch(`${node.url}/metrics`)).text();
  return Number(/^chatstorm_connections (\S+)$/m.exec(text)![1]);
}

test('a node killed with SIGKILL loses only its own sockets; its SDK viewers reconnect to the others and keep chatting', { skip: REDIS_SKIP, timeout: 120_000 }, async () => {
  const redis = await startRedis();
  const tokenKey = randomBytes(32).toString('base64');
  const dirs: string[] = [];
  const nodes: Node[] = [];
  const viewers: ChatRoomInstance[] = [];
  let balancer: TcpBalancer | undefined;
  let client: IvschatClient | undefined;
  try {
    // Every node starts from one store holding the room: the embedded store's stand-in for a
    // shared one (with a store kept in --redis-url's Redis the room is simply there already).
    // Tokens are minted on node 0 and accepted by all (one --token-key).
    const template: TestServer = await startTestServer(['--token-key', tokenKey, '--redis-url', redis.url]);
    const { arn } = await createRoom(template, { maximumMessageRatePerSecond: 100 });
    await template.stop({ keepData: true });
    dirs.push(template.dataDir);
    for (let i = 0; i < 3; i++) {
      const dir = await mkdtemp(join(tmpdir(), 'chatstorm-node-'));
      dirs.push(dir);
      await cp(template.dataDir, dir, { recursive: true });
      nodes.push(await startNode(['--data-dir', dir, '--redis-url', redis.url, '--token-key', tokenKey]));
    }
    client = new IvschatClient({
      endpoint: nodes[0]!.url,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' },
      maxAttempts: 1,
    });
    const mint = client;
    balancer = await TcpBalancer.start(nodes.map((node) => node.port));

    const dropped = new Set<number>();
    for (let v = 0; v < 6; v++) {
      const viewer = new ChatRoom({
        regionOrUrl: balancer.url,
        tokenProvider: async () => {
          const out = await mint.send(new CreateChatTokenCommand({ roomIdentifier: arn, userId: `v${v}`, capabilities: ['SEND_MESSAGE'] }));
          // No expiration times: given them, the SDK keeps a refresh timer that outlives disconnect().
          return { token: out.token! };
        },
      });
      viewer.logger = { debug() {}, info() {}, error() {} } as unknown as typeof viewer.logger;
      const connected = nextEvent(viewer, 'connect');
      viewer.connect();
      await connected;
      // After the first connect: a dropped connection shows as the SDK connecting again.
      viewer.addListener('connecting', () => dropped.add(v));
      viewer.addListener('disconnect', () => dropped.add(v));
      viewers.push(viewer);
    }
    assert.deepEqual(await Promise.all(nodes.map(connections)), [2, 2, 2], 'the balancer spread the viewers over the nodes');

    nodes[1]!.child.kill('SIGKILL');
    await eventually(
      async () => viewers.every((viewer) => viewer.state === 'connected') && (await connections(nodes[0]!)) + (await connections(nodes[2]!)) === 6,
      30_000,
      'the killed node\'s viewers reconnected to the other two',
    );
    // Round robin handed out v1 and v4 to the killed node: only they saw their connection end.
    assert.deepEqual([...dropped].sort(), [1, 4]);

    const seen = viewers.map((viewer) => {
      const contents: string[] = [];
      viewer.addListener('message', (message: { content: string }) => contents.push(message.content));
      return contents;
    });
    const done = viewers.map(
      (viewer) =>
        new Promise<void>((resolve) => {
          let count = 0;
          viewer.addListener('message', (message: { content: string }) => {
            if (message.content.endsWith(':2') && ++count === viewers.length) resolve();
          });
        }),
    );
    await Promise.all(
      viewers.map(async (viewer, v) => {
        await viewer.sendMessage(new SendMessageRequest(`v${v}:1`));
        await viewer.sendMessage(new SendMessageRequest(`v${v}:2`));
      }),
    );
    await within(Promise.all(done), 10_000, 'every viewer got every viewer\'s last message');
    seen.forEach((contents, r) => {
      for (let v = 0; v < viewers.length; v++) {
        assert.deepEqual(contents.filter((c) => c.startsWith(`v${v}:`)), [`v${v}:1`, `v${v}:2`], `viewer ${r} got viewer ${v}'s messages once, in order`);
      }
    });
  } finally {
    for (const viewer of viewers) viewer.disconnect();
    await balancer?.stop();
    client?.destroy();
    for (const node of nodes) {
      if (node.child.exitCode === null && node.child.signalCode === null) {
        const exited = new Promise((resolve) => node.child.once('exit', resolve));
        node.child.kill('SIGTERM');
        await exited;
      }
    }
    await redis.stop();
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  }
});
