import { createServer } from 'node:net';

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

function anyFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/**
 * `count` consecutive ports free on 127.0.0.1 right now, the first of them given by the kernel.
 * For servers that must be told a fixed port: sockets sharing a port with SO_REUSEPORT cannot use
 * port 0 (each would get its own).
 */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const first = await anyFreePort();
    if (first + count > 65535) continue;
    let all = true;
    for (let i = 1; i < count && all; i++) all = await canBind(first + i);
    if (all) return first;
  }
  throw new Error(`no run of ${count} free ports on 127.0.0.1 in 50 attempts`);
}
