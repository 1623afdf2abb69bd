import { execFile } from 'node:child_process';

// Where a backlog sits, as the kernel sees it: bytes queued on the server's sockets towards the
// clients (server Send-Q), bytes the server has not read (server Recv-Q), and bytes that reached
// the load side but that it has not read yet (client Recv-Q: the generator falling behind).

export interface KernelQueues {
  serverSendQ: number;
  serverRecvQ: number;
  clientRecvQ: number;
}

export function kernelQueues(port: number): Promise<KernelQueues> {
  return new Promise((resolve) => {
    execFile('ss', ['-tnH', 'state', 'established'], { maxBuffer: 64 * 1024 * 1024 }, (error, stdout) => {
      const q: KernelQueues = { serverSendQ: 0, serverRecvQ: 0, clientRecvQ: 0 };
      if (error) return resolve({ serverSendQ: NaN, serverRecvQ: NaN, clientRecvQ: NaN });
      const local = `:${port}`;
      for (const line of stdout.split('\n')) {
        const f = line.trim().split(/\s+/);
        if (f.length < 4) continue;
        // Recv-Q Send-Q Local:Port Peer:Port (state omitted with a state filter)
        const [recvQ, sendQ, localAddress, peerAddress] = f;
        if (localAddress!.endsWith(local)) {
          q.serverRecvQ += Number(recvQ);
          q.serverSendQ += Number(sendQ);
        } else if (peerAddress!.endsWith(local)) {
          q.clientRecvQ += Number(recvQ);
        }
      }
      resolve(q);
    });
  });
}
