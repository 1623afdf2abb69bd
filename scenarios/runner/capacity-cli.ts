import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { fitModel } from '../lib/capacity-model.ts';
import { ControlPlaneError } from '../lib/ports.ts';
import { CAPACITY_USAGE, CapacityUsageError, parseCapacityCli, type CapacityCli } from './capacity-args.ts';
import { formatModel } from './capacity-model-format.ts';
import { runSweep } from './capacity-sweep.ts';
import { defaultResultPath, writeResult } from './report.ts';
import { sweepResult } from './sweep-result.ts';
import { buildTarget } from './target.ts';

// `npm run capacity`: flags, target, sweep, model; the work is in capacity-sweep.ts and lib/capacity-model.ts.

const say = (line: string) => process.stderr.write(`${line}\n`);

/** What the model takes from npm run bench:bus's JSON (server/bench/redis-bus-bench.ts). */
const BusBench = z.object({ redis: z.object({ nodesCpuMicrosPerMessage: z.number().positive() }) });

function readBus(file: string): { microsPerMessage: number[]; source: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new CapacityUsageError(`--bus ${file}: ${(error as Error).message}`);
  }
  const bus = BusBench.safeParse(parsed);
  if (!bus.success) throw new CapacityUsageError(`--bus ${file}: not npm run bench:bus's JSON (needs redis.nodesCpuMicrosPerMessage)`);
  return { microsPerMessage: [bus.data.redis.nodesCpuMicrosPerMessage], source: `npm run bench:bus (${file}; publisher and listener together, an upper bound per node)` };
}

async function main(): Promise<number> {
  let cli: CapacityCli;
  let bus: ReturnType<typeof readBus> | undefined;
  try {
    cli = parseCapacityCli(process.argv.slice(2));
    if (cli.help) {
      process.stdout.write(`${CAPACITY_USAGE}\n`);
      return 0;
    }
    if (cli.bus) bus = readBus(cli.bus);
  } catch (error) {
    if (error instanceof CapacityUsageError) {
      say(`${error.message}\n\n${CAPACITY_USAGE}`);
      return 2;
    }
    throw error;
  }

  const { target, server } = await buildTarget({ ...(cli.url ? { url: cli.url } : {}), pin: cli.pin }, say);
  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(130);
    say('\nstopping the sweep after this step’s viewers leave (Ctrl-C again to quit at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    if (cli.transport === 'raw' && !target.wsUrl.startsWith('ws://')) {
      say('--transport raw speaks plain ws:// only: use --transport ws for wss:// targets');
      return 2;
    }
    const started = performance.now();
    const outcome = await runSweep({
      target,
      grid: cli.grid,
      chattersPerRoom: cli.chattersPerRoom,
      messageBytes: cli.messageBytes,
      rampMs: cli.rampMs,
      holdMs: cli.holdMs,
      windowMs: cli.windowMs,
      windows: cli.windows,
      slo: { p99Ms: cli.p99Ms, loss: cli.loss, serverCpuPercent: cli.serverCpuPercent },
      stormViewers: cli.stormViewers,
      stormWaves: cli.stormWaves,
      tokenRounds: cli.tokenRounds,
      tokenRoundMs: cli.tokenRoundMs,
      workers: cli.workers ?? os.availableParallelism(),
      transport: cli.transport,
      ...(cli.decodeEvery ? { decodeEvery: cli.decodeEvery } : {}),
      progress: cli.progress,
      signal: abort.signal,
      log: say,
    });
    const model = fitModel({
      measuredAt: outcome.startedAt.toISOString(),
      target: { url: target.url, kind: target.kind },
      machine: { cores: os.cpus().length, totalMemoryBytes: os.totalmem(), cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.version },
      transport: cli.transport,
      slo: { p99Ms: cli.p99Ms, loss: cli.loss, serverCpuPercent: cli.serverCpuPercent },
      steps: outcome.steps,
      storm: outcome.storm,
      tokens: outcome.tokens,
      ...(bus ? { bus } : {}),
    });
    mkdirSync(path.dirname(path.resolve(cli.model)), { recursive: true });
    writeFileSync(cli.model, `${JSON.stringify(model, null, 2)}\n`);
    const lines = [formatModel(model, cli.model)];
    const result = sweepResult(outcome, model);
    if (result) {
      const file = cli.out ?? defaultResultPath('capacity-sweep', outcome.startedAt);
      const charts = writeResult(file, result);
      lines.push(`  results                ${file}`, `  charts                 ${charts}`);
    }
    lines.push(`  took                   ${Math.round((performance.now() - started) / 1000)} s`);
    process.stdout.write(`${lines.join('\n')}\n`);
    return model.figures.deliveriesPerSecondAtSlo.value === null ? 1 : 0;
  } finally {
    await server?.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    say(error instanceof ControlPlaneError ? `capacity could not set up the sweep: ${error.message}` : `capacity failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(2);
  },
);
