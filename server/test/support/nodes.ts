import { randomBytes } from 'node:crypto';
import { ChatRoom, createToken, nextEvent, type CapabilityName, type ChatRoomInstance } from './chat.ts';
import { startTestServer, type TestServer } from './server.ts';

/**
 * `count` chatstorm nodes in this process, each on its own port, joined by one Redis
 * (--redis-url) and sharing a chat token key, so a token minted on one is accepted by the others.
 */
export async function startNodes(count: number, redisUrl: string, args: string[] = []): Promise<TestServer[]> {
  const tokenKey = randomBytes(32).toString('base64');
  const nodes: TestServer[] = [];
  for (let i = 0; i < count; i++) nodes.push(await startTestServer(['--redis-url', redisUrl, '--token-key', tokenKey, ...args]));
  return nodes;
}

/**
 * Makes the room created on nodes[0] known to every node. With the embedded store each node has
 * its own records, so the record is copied into the others, standing in for a shared store; with
 * a store that is already shared this writes the same record back and changes nothing.
 */
export async function shareRoom(nodes: TestServer[], roomArn: string): Promise<void> {
  const id = roomArn.slice(roomArn.lastIndexOf('/') + 1);
  const record = await nodes[0]!.ctx.store.getRoom(id);
  if (!record) throw new Error(`room ${id} is not in the first node's store`);
  for (const node of nodes.slice(1)) await node.ctx.store.putRoom(record);
}

/** An official ChatRoom connected to `node`, with tokens minted on `mintOn` (the first node by default). */
export async function connectTo(
  node: TestServer,
  roomArn: string,
  userId: string,
  capabilities: CapabilityName[] = ['SEND_MESSAGE'],
  mintOn: TestServer = node,
): Promise<ChatRoomInstance> {
  const room = new ChatRoom({ regionOrUrl: node.wsUrl, tokenProvider: () => createToken(mintOn, roomArn, userId, capabilities) });
  room.logger = { debug() {}, info() {}, error() {} } as unknown as typeof room.logger;
  const connected = nextEvent(room, 'connect');
  room.connect();
  await connected;
  return room;
}

/** Polls `check` every 20 ms until it holds, failing with `what` after `ms`. */
export async function eventually(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} within ${ms} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
