import http from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { controlPlane, messageFrame, readToken, type SendMessageRequest } from './message-frame.ts';

// The same protocol on `ws`, written the way a Node user would by default: a Set of sockets per
// room and a send() to each. Same SEND_MESSAGE JSON, same MESSAGE bytes, same tokens as
// bare-uws.ts. Prints {"url"} on its first line.

const q = JSON.stringify;
const rooms = new Map<string, Set<WebSocket>>();
const all = new Set<WebSocket>();

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/stats') {
    let bufferedBytes = 0;
    for (const ws of all) bufferedBytes += ws.bufferedAmount;
    res.writeHead(200, { 'content-type': 'application/json' }).end(q({ sockets: all.size, bufferedBytes }));
    return;
  }
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    const text = Buffer.concat(chunks).toString();
    const answer = controlPlane((req.url ?? '/').slice(1), text ? (JSON.parse(text) as Record<string, unknown>) : {});
    res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.body === undefined ? '' : q(answer.body));
  });
});

const wss = new WebSocketServer({ server, perMessageDeflate: false, handleProtocols: (protocols) => [...protocols][0] ?? false });
wss.on('connection', (ws) => {
  const { roomId, userId } = readToken(ws.protocol);
  const sender = `{"UserId":${q(userId)}}`;
  let members = rooms.get(roomId);
  if (!members) rooms.set(roomId, (members = new Set()));
  members.add(ws);
  all.add(ws);
  ws.on('message', (data) => {
    const frame = messageFrame(JSON.parse(String(data)) as SendMessageRequest, sender);
    for (const peer of members) peer.send(frame);
  });
  ws.on('close', () => {
    members.delete(ws);
    all.delete(ws);
  });
  ws.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  if (!address || typeof address === 'string') throw new Error('ws-server: no port');
  process.stdout.write(`${q({ url: `http://127.0.0.1:${address.port}` })}\n`);
});
process.on('SIGTERM', () => process.exit(0));
