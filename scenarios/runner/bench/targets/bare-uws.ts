import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';
import { controlPlane, messageFrame, readToken, type SendMessageRequest } from './message-frame.ts';

// The ceiling of bench:compare: uWebSockets.js publishing the same MESSAGE frames to the same
// topics (one per room), with no authentication, no validation and no metrics. It accepts the
// same SEND_MESSAGE JSON and tokens from its own CreateChatToken (`<roomId>.<userId>`). uWS's
// defaults otherwise, as a bare user would run it (maxBackpressure 64 KiB, messages skipped past
// it). Prints {"url"} on its first line, like the chatstorm server.

const uws = createRequire(import.meta.url)('uWebSockets.js') as typeof Uws;
const q = JSON.stringify;

interface Peer {
  roomId: string;
  sender: string;
}

let sockets = 0;
const app = uws.App();
const all = new Set<Uws.WebSocket<Peer>>();
app.ws<Peer>('/*', {
  compression: uws.DISABLED,
  maxPayloadLength: 256 * 1024,
  idleTimeout: 120,
  upgrade: (res, req, context) => {
    const token = req.getHeader('sec-websocket-protocol').split(',')[0]!.trim();
    const { roomId, userId } = readToken(token);
    res.upgrade({ roomId, sender: `{"UserId":${q(userId)}}` }, req.getHeader('sec-websocket-key'), token, req.getHeader('sec-websocket-extensions'), context);
  },
  open: (ws) => {
    sockets++;
    all.add(ws);
    ws.subscribe(ws.getUserData().roomId);
  },
  message: (ws, data) => {
    const peer = ws.getUserData();
    const request = JSON.parse(Buffer.from(data).toString('utf8')) as SendMessageRequest;
    app.publish(peer.roomId, messageFrame(request, peer.sender));
  },
  close: (ws) => {
    sockets--;
    all.delete(ws);
  },
});

app.post('/*', (res, req) => {
  const operation = req.getUrl().slice(1);
  let body = Buffer.alloc(0);
  res.onAborted(() => {});
  res.onData((chunk, last) => {
    body = Buffer.concat([body, Buffer.from(chunk)]);
    if (!last) return;
    const answer = controlPlane(operation, body.length ? (JSON.parse(body.toString()) as Record<string, unknown>) : {});
    res.cork(() => {
      res.writeStatus(String(answer.status)).writeHeader('content-type', 'application/json').end(answer.body === undefined ? '' : q(answer.body));
    });
  });
});
// What the send buffers hold, for the comparison's "where did the backlog sit" (read once a second).
app.get('/stats', (res) => {
  let bufferedBytes = 0;
  for (const ws of all) bufferedBytes += ws.getBufferedAmount();
  res.cork(() => res.writeHeader('content-type', 'application/json').end(q({ sockets, bufferedBytes })));
});

app.listen('127.0.0.1', 0, (listenSocket) => {
  if (!listenSocket) {
    console.error('bare-uws: cannot listen');
    process.exit(1);
  }
  process.stdout.write(`${q({ url: `http://127.0.0.1:${uws.us_socket_local_port(listenSocket)}` })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
