import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { ChatstormControlPlane } from '../chatstorm-control-plane.ts';
import { planPinning, pinSelf } from '../cpu-pinning.ts';
import { startEmbeddedServer, type EmbeddedServer } from '../embedded-server.ts';
import { runConnectionLimit } from './connection-limit-run.ts';
import { runHandshakeFlood } from './handshake-flood.ts';
import { runSlowConsumer } from './slow-consumer-run.ts';

// `npm run bench:floods`: how the server holds up against floods and slow peers, each against a
// fresh chatstorm process (server on one core, this generator on the other), over the wire only.
//
//   handshakes      good-handshake latency (upgrade to 101) without and with a flood of forged,
//                   reused and garbage tokens; target: p99 at most 2× with the flood
//   max-connections a server full at --max-connections takes rounds of handshakes: each refused
//                   with 429, and server RSS per refused handshake ≈ 0
//   slow-consumer   one viewer stops reading in a chatted room: cut at --max-backpressure-bytes
//                   (close as documented: 1006, dropped), the others' p99 kept and nothing lost

const { values } = parseArgs({
  options: {
    only: { type: 'string' },
    seconds: { type: 'string', default: '6' },
    rounds: { type: 'string', default: '3' },
    'good-rate': { type: 'string', default: '50' },
    'flood-rate': { type: 'string', default: '500' },
    'max-connections': { type: 'string', default: '500' },
    refused: { type: 'string', default: '2000' },
    'refused-rounds': { type: 'string', default: '5' },
    viewers: { type: 'string', default: '50' },
    'message-rate': { type: 'string', default: '1000' },
    // 500 is a room's default maximumMessageLength.
    'content-bytes': { type: 'string', default: '500' },
    'cpu-prof': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const PARTS = ['handshakes', 'max-connections', 'slow-consumer'];
const parts = new Set((values.only ?? PARTS.join(',')).split(','));
for (const part of parts) if (!PARTS.includes(part)) throw new Error(`--only: unknown part "${part}" (one or more of ${PARTS.join(', ')})`);
const progress = (line: string) => process.stderr.write(`  ${line}\n`);

const pinning = planPinning();
if (pinning) pinSelf(pinning.generatorCores);
const profileDir = path.resolve('results', 'cpu-profiles');

const port = (server: EmbeddedServer) => Number(new URL(server.url).port);
const metricsUrl = (server: EmbeddedServer) => `${server.url}/metrics`;

async function withServer<T>(name: string, extraArgs: string[], run: (server: EmbeddedServer, control: ChatstormControlPlane) => Promise<T>): Promise<T> {
  process.stderr.write(`${name}\n`);
  if (values['cpu-prof']) mkdirSync(profileDir, { recursive: true });
  const server = await startEmbeddedServer({
    cores: pinning?.serverCores,
    extraArgs,
    nodeOptions: values['cpu-prof'] ? ['--cpu-prof', '--cpu-prof-dir', path.join(profileDir, `${name}-${Date.now()}`)] : [],
  });
  const control = new ChatstormControlPlane(server.url);
  try {
    return await run(server, control);
  } finally {
    control.close();
    await server.stop();
  }
}


const handshakes = parts.has('handshakes')
  ? await withServer('handshakes', [], async (server, control) =>
      runHandshakeFlood({
        port: port(server),
        metricsUrl: metricsUrl(server),
        control,
        roomArn: (await control.createRoom('floods', 100)).arn,
        goodPerSecond: Number(values['good-rate']),
        floodPerSecond: Number(values['flood-rate']),
        phaseSeconds: Number(values.seconds),
        warmUpSeconds: 4,
        rounds: Number(values.rounds),
        maxInFlight: 2000,
        progress,
      }),
    )
  : undefined;

const maxConnections = parts.has('max-connections')
  ? await withServer('max-connections', ['--max-connections', values['max-connections']!], async (server, control) =>
      runConnectionLimit({
        port: port(server),
        pid: server.pid,
        metricsUrl: metricsUrl(server),
        control,
        roomArn: (await control.createRoom('limit', 100)).arn,
        maxConnections: Number(values['max-connections']),
        refusedPerRound: Number(values.refused),
        rounds: Number(values['refused-rounds']),
        concurrency: 50,
        progress,
      }),
    )
  : undefined;

const slowConsumer = parts.has('slow-consumer')
  ? await withServer('slow-consumer', [], (server, control) =>
      runSlowConsumer({
        port: port(server),
        pid: server.pid,
        metricsUrl: metricsUrl(server),
        control,
        viewers: Number(values.viewers),
        messagesPerSecond: Number(values['message-rate']),
        contentBytes: Number(values['content-bytes']),
        phaseSeconds: Number(values.seconds),
        cutTimeoutSeconds: 60,
        progress,
      }),
    )
  : undefined;

const at = new Date().toISOString();
const result = {
  benchmark: 'floods',
  at,
  node: process.version,
  pinning: pinning ?? 'none',
  options: values,
  handshakes,
  maxConnections,
  slowConsumer,
  targets: { handshakeP99Ratio: 2, bytesPerRefusedConnection: 0, slowConsumerCloseCode: 1006, otherViewersP99Ratio: 'about 1' },
};

const ms = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '—' : `${x.toFixed(2)} ms`);
const mib = (b: number) => `${(b / 2 ** 20).toFixed(1)} MiB`;
const rows: [string, string, string][] = [];
if (handshakes) {
  const c = handshakes.conditions;
  const measured = handshakes.phases.filter((p) => !p.warmUp);
  const lagMax = (condition: string) => Math.max(...measured.filter((p) => p.condition === condition).map((p) => p.serverLagMaxMs)).toFixed(0);
  const floods = measured.filter((p) => p.condition !== 'quiet');
  const coldBad = handshakes.phases.find((p) => p.warmUp && p.condition === 'bad-tokens')!;
  rows.push(
    ['good handshakes p50 / p99, quiet', `${ms(c.quiet.p50Ms)} / ${ms(c.quiet.p99Ms)}`, ''],
    [`  with a flood of bad tokens, ${values['flood-rate']}/s`, `${ms(c['bad-tokens'].p50Ms)} / ${ms(c['bad-tokens'].p99Ms)}`, ''],
    ['    p99 ratio bad-token flood / quiet', `${c['bad-tokens'].p99Ratio.toFixed(2)}×`, '≤ 2×'],
    [`  control: a flood without tokens, ${values['flood-rate']}/s`, `${ms(c['no-tokens'].p50Ms)} / ${ms(c['no-tokens'].p99Ms)}`, ''],
    ['    p99 ratio no-token flood / quiet', `${c['no-tokens'].p99Ratio.toFixed(2)}×`, ''],
    ['  good handshakes refused', String(handshakes.goodRefused), '0'],
    ['  cold server, first 4 s of the bad-token flood (warm-up, not above)', `${ms(coldBad.good.p50Ms)} / ${ms(coldBad.good.p99Ms)}`, ''],
    ['  server CPU quiet / bad tokens / no tokens', `${c.quiet.serverCpuPercent.toFixed(1)} / ${c['bad-tokens'].serverCpuPercent.toFixed(1)} / ${c['no-tokens'].serverCpuPercent.toFixed(1)} %`, ''],
    ['  server CPU per flood handshake, bad token / none', `${c['bad-tokens'].serverMicrosecondsPerFloodHandshake.toFixed(0)} / ${c['no-tokens'].serverMicrosecondsPerFloodHandshake.toFixed(0)} µs`, ''],
    ['  server event-loop lag max, quiet / bad / none', `${lagMax('quiet')} / ${lagMax('bad-tokens')} / ${lagMax('no-tokens')} ms`, ''],
    ['  flood handshakes sent (skipped)', `${floods.reduce((n, p) => n + p.bad.sent, 0)} (${floods.reduce((n, p) => n + p.bad.skipped, 0)})`, ''],
  );
  for (const [answer, n] of Object.entries(handshakes.badAnswers)) rows.push([`    ${answer}`, String(n), answer.startsWith('bad') ? '401 each' : '']);
}
if (maxConnections) {
  rows.push(
    [`connections held at --max-connections`, String(maxConnections.held), ''],
    ['refused handshakes past the limit', String(maxConnections.refused), ''],
  );
  for (const [answer, n] of Object.entries(maxConnections.answers)) rows.push([`    ${answer}`, String(n), '429 each']);
  rows.push(
    ['  server RSS before → after', `${mib(maxConnections.rssBytes[0]!)} → ${mib(maxConnections.rssBytes.at(-1)!)}`, ''],
    ['  RSS per refused handshake (slope)', `${maxConnections.bytesPerRefused.toFixed(1)} B`, '≈ 0'],
    ['  chatstorm_connections before → after', `${maxConnections.connectionsGauge.before} → ${maxConnections.connectionsGauge.after}`, 'unchanged'],
  );
}
if (slowConsumer) {
  const [without, withSlow] = slowConsumer.phases;
  rows.push(
    [`room: ${slowConsumer.viewers} viewers, ${values['message-rate']} msg/s of ${slowConsumer.frameBytes} B`, '', ''],
    ['  others p50 / p99 without the slow viewer', `${ms(without!.p50Ms)} / ${ms(without!.p99Ms)}`, ''],
    ['  others p50 / p99 with the slow viewer', `${ms(withSlow!.p50Ms)} / ${ms(withSlow!.p99Ms)}`, ''],
    ['  p99 ratio with / without', `${slowConsumer.p99Ratio.toFixed(2)}×`, '≈ 1'],
    ['  others that got every message', `${without!.completeViewers} / ${withSlow!.completeViewers} of ${slowConsumer.viewers}`, 'all'],
    ['  server peak RSS without / with', `${mib(without!.peakRssBytes)} / ${mib(withSlow!.peakRssBytes)}`, ''],
    ['  server send buffers at most (limit 1 MiB)', mib(slowConsumer.cut.maxServerBufferedBytes), '< 2 MiB'],
    ['  slow viewer cut after', slowConsumer.cut.afterSeconds === undefined ? 'never' : `${slowConsumer.cut.afterSeconds.toFixed(1)} s`, ''],
    ['  close it sees (read after resuming)', String(slowConsumer.cut.closeCode ?? '—'), '1006'],
    ['  closed{reason="slow_consumer"}', String(slowConsumer.cut.closedReasonSlowConsumer), '1'],
  );
}
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
process.stdout.write(`\nfloods benchmark — Node ${process.version}, ${pinning ? `server on core ${pinning.serverCores}, load on ${pinning.generatorCores}` : 'unpinned'}\n`);
process.stdout.write(`  ${'measure'.padEnd(w0)}  ${'value'.padStart(w1)}  target\n`);
for (const [a, b, c] of rows) process.stdout.write(`  ${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}\n`);
const file = values.out ?? path.join('results', `floods-bench-${at.replace(/[:.]/g, '-')}.json`);
mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
writeFileSync(file, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`  results  ${file}\n`);
if (values['cpu-prof']) process.stdout.write(`  server CPU profiles  ${profileDir}\n`);
process.exit(0);
