import { procPort, readTcpTablesAsync, tcpQueues } from '../../receive-backlog.ts';

// Where a backlog sits, as the kernel sees it: bytes queued on the server's sockets towards the
// clients (server Send-Q), bytes the server has not read (server Recv-Q), and bytes that reached
// the load side but that it has not read yet (client Recv-Q: the generator falling behind). Read
// with the runner's own /proc parser (receive-backlog.ts), matched on the port alone: the targets
// here all listen on loopback.

export interface KernelQueues {
  serverSendQ: number;
  serverRecvQ: number;
  clientRecvQ: number;
}

export async function kernelQueues(port: number): Promise<KernelQueues> {
  const texts = await readTcpTablesAsync();
  if (!texts) return { serverSendQ: NaN, serverRecvQ: NaN, clientRecvQ: NaN };
  const q = tcpQueues(texts, [{ address: '', port: procPort(port) }]);
  return { serverSendQ: q.serverSendBytes ?? 0, serverRecvQ: q.serverRecvBytes ?? 0, clientRecvQ: q.clientRecvBytes };
}
