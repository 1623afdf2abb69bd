import { createServer } from 'node:net';

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * `count` consecutive ports free on 127.0.0.1 right now. For servers that must be told a fixed
 * port: sockets sharing a port with SO_REUSEPORT cannot use port 0 (each would get its own). The
 * run is drawn below the kernel's ephemeral range (32768+ by default), where the outgoing
 * connections of load tests running beside this one take ports in dense blocks.
 */
export async function freePortRun(count: number): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const first = 20_000 + Math.floor(Math.random() * (12_000 - count));
    let all = true;
    for (let i = 0; i < count && all; i++) all = await canBind(first + i);
    if (all) return first;
  }
  throw new Error(`no run of ${count} free ports on 127.0.0.1 between 20000 and 32000 in 200 attempts`);
}
