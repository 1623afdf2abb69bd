import { createRequire } from 'node:module';
import type * as Uws from 'uWebSockets.js';

// A stand-in for a chat server that costs the generator nothing it would not pay anyway: it hands
// out tokens, accepts every WebSocket into one topic, and publishes ready-made MESSAGE frames in
// chatstorm's exact layout as fast as uWebSockets.js can. The generator benchmark runs it as a
// separate process on its own core, so what it measures is the generator alone.
//
// Control: POST /blast {"seconds":5,"framesPerRound":32} publishes framesPerRound frames per
// event-loop round for that long; GET /stats says how many were published.

const uws = createRequire(import.meta.url)('uWebSockets.js') as typeof Uws;
const ROOM_ID = 'BenchRoom001';
const ROOM_ARN = `arn:aws:ivschat:us-east-1:123456789012:room/${ROOM_ID}`;
const TOPIC = 'room';
const content = 'chatstorm load message '.repeat(3).slice(0, 64);

let published = 0;
let tokens = 0;
let sockets = 0;
let seq = 0;
/** The sender index frames claim: viewer 0, the one chatter of a one-room layout. */
const sender = Number(process.env.FRAME_SENDER ?? 0);

function frame(): string {
  seq++;
  const t = (performance.timeOrigin + performance.now()).toFixed(3);
  return (
    `{"Type":"MESSAGE","Id":"${String(seq).padStart(12, '0')}","RequestId":"m${seq}",` +
    `"Attributes":{"t":"${t}","s":"${sender}","n":"${seq}"},"Content":"${content}",` +
    `"SendTime":"${new Date().toISOString()}","Sender":{"UserId":"v${sender}"}}`
  );
}

function readJson(res: Uws.HttpResponse, done: (body: Record<string, unknown>) => void): void {
  let buffer = Buffer.alloc(0);
  res.onAborted(() => {});
  res.onData((chunk, last) => {
    buffer = Buffer.concat([buffer, Buffer.from(chunk)]);
    if (!last) return;
    try {
      done(buffer.length ? (JSON.parse(buffer.toString()) as Record<string, unknown>) : {});
    } catch {
      done({});
    }
  });
}

function json(res: Uws.HttpResponse, body: unknown): void {
  res.cork(() => res.writeHeader('content-type', 'application/json').end(JSON.stringify(body)));
}

const app = uws.App();
app.ws('/*', {
  compression: uws.DISABLED,
  maxPayloadLength: 64 * 1024,
  // A receiver that falls behind is skipped, not buffered without bound: the benchmark counts
  // what the generator actually read.
  maxBackpressure: 512 * 1024,
  idleTimeout: 0,
  upgrade: (res, req, context) => {
    res.upgrade(
      {},
      req.getHeader('sec-websocket-key'),
      req.getHeader('sec-websocket-protocol').split(',')[0]!.trim(),
      req.getHeader('sec-websocket-extensions'),
      context,
    );
  },
  open: (ws) => {
    sockets++;
    ws.subscribe(TOPIC);
  },
  close: () => {
    sockets--;
  },
});
app.post('/CreateRoom', (res) => readJson(res, () => json(res, { arn: ROOM_ARN, id: ROOM_ID })));
app.post('/DeleteRoom', (res) => readJson(res, () => res.cork(() => res.writeStatus('204 No Content').end())));
app.post('/CreateChatToken', (res) => readJson(res, () => json(res, { token: `bench-token-${++tokens}` })));
app.get('/stats', (res) => json(res, { published, sockets, tokens }));
app.post('/blast', (res) =>
  readJson(res, (body) => {
    const until = performance.now() + Number(body.seconds ?? 5) * 1000;
    const perRound = Math.max(1, Number(body.framesPerRound ?? 1));
    const round = () => {
      if (performance.now() >= until) return;
      for (let k = 0; k < perRound; k++) app.publish(TOPIC, frame(), false);
      published += perRound;
      setImmediate(round);
    };
    round();
    json(res, { started: true });
  }),
);

app.listen('127.0.0.1', 0, (listenSocket) => {
  if (!listenSocket) {
    console.error('frame source: cannot listen');
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ url: `http://127.0.0.1:${uws.us_socket_local_port(listenSocket)}` })}\n`);
});
