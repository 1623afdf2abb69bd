import { mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { procPort, readTcpTables, ReceiveBacklog, tcpQueues } from '../receive-backlog.ts';

// `npm run bench:backlog`: what the runner's once-a-tick receive-backlog sample costs its main
// thread. Holds N loopback connections (both ends here, so /proc/net/tcp lists 2N of them, as with
// N viewers and the embedded server), then times the sample: the kernel's read of the tables and
// our parse apart. Prints the figures and writes them as JSON.

const { values } = parseArgs({
  options: {
    connections: { type: 'string', default: '8000' },
    samples: { type: 'string', default: '30' },
    out: { type: 'string', default: path.join('results', 'bench-receive-backlog.json') },
  },
});
const connections = Number(values.connections);
const samples = Number(values.samples);
if (!(connections > 0 && connections <= 9000) || !(samples > 0 && samples <= 1000)) {
  process.stderr.write('--connections 1..9000 (two file descriptors each) and --samples 1..1000\n');
  process.exit(2);
}

const server = net.createServer((socket) => accepted.push(socket));
const accepted: net.Socket[] = [];
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const { port } = server.address() as net.AddressInfo;
const clients: net.Socket[] = [];
for (let k = 0; k < connections; k += 500) {
  const batch = Array.from({ length: Math.min(500, connections - k) }, () => net.connect({ port, host: '127.0.0.1' }));
  await Promise.all(batch.map((c) => new Promise<void>((resolve, reject) => c.once('connect', () => resolve()).once('error', reject))));
  clients.push(...batch);
}
const deadline = Date.now() + 30_000;
while (accepted.length < connections && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));

const quantile = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]!;
const whole: number[] = [];
const read: number[] = [];
const parse: number[] = [];
let lines = 0;
let matched = 0;
for (let k = 0; k < samples; k++) {
  // A fresh sampler each time: one that is over its budget skips samples.
  const sampler = await ReceiveBacklog.open([`ws://127.0.0.1:${port}/`]);
  const a = performance.now();
  const q = sampler.sample();
  whole.push(performance.now() - a);
  const b = performance.now();
  const texts = readTcpTables();
  read.push(performance.now() - b);
  if (!texts || !q) continue;
  const c = performance.now();
  tcpQueues(texts, [{ address: '0100007F', port: procPort(port) }]);
  parse.push(performance.now() - c);
  lines = texts.reduce((n, t) => n + t.split('\n').length - 2, 0);
  matched = q.clientSockets + q.serverSockets;
}
for (const s of [...clients, ...accepted]) s.destroy();
server.close();

const result = {
  connections,
  procLines: lines,
  matchedSockets: matched,
  samples,
  sampleMs: { median: quantile(whole, 0.5), p99: quantile(whole, 0.99) },
  readMs: { median: quantile(read, 0.5) },
  parseMs: { median: parse.length ? quantile(parse, 0.5) : null },
  microsPerLine: lines ? (quantile(whole, 0.5) * 1000) / lines : null,
};
process.stdout.write(
  `receive-backlog sample with ${connections.toLocaleString('en-US')} loopback connections (${lines.toLocaleString('en-US')} lines in /proc/net/tcp{,6}, ${matched.toLocaleString('en-US')} matched):\n` +
    `  whole sample   median ${result.sampleMs.median.toFixed(2)} ms, p99 ${result.sampleMs.p99.toFixed(2)} ms (${result.microsPerLine?.toFixed(2)} µs per line)\n` +
    `  kernel read    median ${result.readMs.median.toFixed(2)} ms\n` +
    `  our parse      median ${result.parseMs.median?.toFixed(2) ?? 'n/a'} ms\n` +
    '  (taken once a report tick, ~1 s, on the runner’s main thread; a shared machine’s figures are noisy)\n',
);
mkdirSync(path.dirname(values.out), { recursive: true });
writeFileSync(values.out, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`  results        ${values.out}\n`);
