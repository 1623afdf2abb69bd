import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatDuration, parseDurationMs } from '../lib/duration.ts';
import { ControlPlaneError } from '../lib/ports.ts';
import { resolveProfile } from '../lib/profile.ts';
import { formatSummary } from '../lib/results.ts';
import { formatSoak } from '../lib/soak-verdict.ts';
import { applyBaseline, compareWithBaseline, formatBaseline, loadBaselines } from './regression-gate.ts';
import { DEFAULT_PROFILE, PROFILES } from '../profiles/index.ts';
import REPLAY_PROFILE from '../profiles/replay.ts';
import { parseCli, USAGE, UsageError, type CliOptions } from './args.ts';
import { countingCapacity } from './capacity-counting.ts';
import { resolveLogsDir, waitForQuietLog, type AuditTarget } from './audit.ts';
import { validateProfile } from './profile-schema.ts';
import { loadReplay, type LoadedReplay } from './replay/load-replay.ts';
import { defaultResultPath, writeResult } from './report.ts';
import { runScenario } from './run.ts';
import { buildTarget } from './target.ts';

// `npm run bench`: the entry file wires flags, target and run together; the work is elsewhere.

const say = (line: string) => process.stderr.write(`${line}\n`);
// Real IVS: CreateChatToken is limited to 200 requests/s per account and region.
const AWS_TOKEN_RATE = 150;

async function main(): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseCli(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      say(`${error.message}\n\n${USAGE}`);
      return 2;
    }
    throw error;
  }
  if (cli.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (cli.list) {
    for (const p of Object.values(PROFILES)) process.stdout.write(`${p.name.padEnd(11)} ${p.description}\n`);
    return 0;
  }
  const input = cli.profile === 'replay' ? REPLAY_PROFILE : PROFILES[cli.profile ?? DEFAULT_PROFILE];
  if (!input) {
    say(`unknown profile "${cli.profile}" (known: ${Object.keys(PROFILES).join(', ')})`);
    return 2;
  }
  let profile;
  let replay: LoadedReplay | undefined;
  try {
    const counting = cli.profile === 'capacity' && cli.decodeEvery ? countingCapacity(cli.overrides) : undefined;
    profile = resolveProfile(input, counting?.overrides ?? cli.overrides);
    if (cli.thresholds) profile.thresholds = cli.thresholds;
    if (cli.awsRegion && !cli.url && (profile.connectRate === 0 || profile.connectRate > AWS_TOKEN_RATE)) {
      profile.connectRate = AWS_TOKEN_RATE;
    }
    profile = validateProfile(profile);
    if (counting) say(counting.note(profile));
    if (profile.replay) {
      replay = loadReplay(profile);
      profile = replay.profile;
    }
  } catch (error) {
    say((error as Error).message);
    return 2;
  }

  if (cli.tolerancePercent !== undefined && !cli.baseline) {
    say('--tolerance goes with --baseline FILE');
    return 2;
  }
  // Read before the run: a wrong baseline is said in the first second, not after the load.
  const baselines = cli.baseline ? loadBaselines(cli.baseline, profile.name) : undefined;
  if (typeof baselines === 'string') {
    say(baselines);
    return 2;
  }

  const auditRefusal = refuseAudit(cli);
  if (auditRefusal) {
    say(auditRefusal);
    return 2;
  }

  const { target, server } = await buildTarget(cli, say);
  let audit: AuditTarget | undefined;
  if (cli.audit && server) {
    const embedded = server;
    audit = {
      logsDir: path.join(embedded.dataDir, 'logs'),
      // A graceful stop closes every socket and flushes the chat log: after it, the log is complete.
      logComplete: async () => {
        if (!(await embedded.shutdown())) throw new Error('the server did not exit cleanly when stopped (it was killed)');
      },
    };
  } else if (cli.audit && cli.auditLogDir) {
    audit = { logsDir: resolveLogsDir(cli.auditLogDir), logComplete: (files) => waitForQuietLog(files) };
  }
  if (cli.transport === 'raw' && !target.wsUrl.startsWith('ws://')) {
    say('--transport raw speaks plain ws:// only; use the default ws transport for wss:// targets');
    return 2;
  }
  if (profile.chattersPerRoom * profile.rate > target.roomRateCap) {
    say(`warning: ${profile.chattersPerRoom * profile.rate} messages/s per room is above the room limit of ${target.roomRateCap}: expect ERROR 429`);
  }

  const abort = new AbortController();
  let interrupts = 0;
  const onSignal = () => {
    if (++interrupts > 1) process.exit(130);
    say('\nstopping: viewers are leaving (Ctrl-C again to quit at once)');
    abort.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  const total = parseDurationMs(profile.duration) + parseDurationMs(profile.drain);
  if (replay) say(replaySummary(replay, target.roomRateCap));
  else say(
    `running ${profile.name}: ${profile.viewers} viewers, ${profile.rooms} room(s), ${profile.chattersPerRoom} chatter(s)/room at ${profile.rate} msg/s` +
      `${profile.steps > 0 ? ` in ${profile.steps} steps by ${profile.stepBy === 'rate' ? 'message rate' : 'viewers'}` : ''}, ` +
      `about ${formatDuration(total)}`,
  );
  // Known before the run: a soak checkpoints its partial result into this same file.
  const file = cli.out ?? defaultResultPath(profile.name, new Date());
  try {
    const result = await runScenario({
      profile,
      target,
      workers: cli.workers ?? os.availableParallelism(),
      transport: cli.transport,
      ...(cli.decodeEvery ? { decodeEvery: cli.decodeEvery } : {}),
      ...(cli.metricsPort !== undefined ? { metricsPort: cli.metricsPort } : {}),
      progress: cli.progress,
      signal: abort.signal,
      log: say,
      ...(audit ? { audit } : {}),
      ...(replay ? { replay } : {}),
      ...(cli.shard ? { shard: { ...cli.shard, runId: cli.runId! } } : {}),
      ...(cli.runId && !cli.shard ? { runId: cli.runId } : {}),
      checkpointFile: file,
    });
    if (baselines) applyBaseline(result, compareWithBaseline(result, baselines, cli.baseline!, cli.tolerancePercent));
    const charts = writeResult(file, result);
    const verdicts = [result.soak ? formatSoak(result.soak) : '', result.baseline ? formatBaseline(result.baseline) : ''].filter(Boolean);
    process.stdout.write(`${formatSummary(result)}\n${verdicts.map((v) => `${v}\n`).join('')}  results       ${file}\n  charts        ${charts}\n`);
    return EXIT_CODES[result.verdict ?? (result.passed ? 'passed' : 'failed')];
  } finally {
    await server?.stop();
  }
}

/** 2 is a usage error; a generator-bound run is neither a pass nor a verdict on the server. */
const EXIT_CODES = { passed: 0, failed: 1, 'generator-bound': 3 } as const;

/** Why --audit / --audit-log-dir cannot work with this target, or undefined when they can. */
function refuseAudit(cli: CliOptions): string | undefined {
  if (cli.auditLogDir && !cli.audit) return '--audit-log-dir is only read with --audit';
  if (!cli.audit) return undefined;
  if (cli.awsRegion) return '--audit reads the chat log files the server writes; Amazon IVS delivers its logs to S3/CloudWatch/Firehose, which this runner does not read';
  if (cli.url && !cli.auditLogDir) {
    return `--audit reads the chat log files the server writes: with --url, add --audit-log-dir DIR (that server's --data-dir, or its logs/ directory, readable from this machine)`;
  }
  if (!cli.url && cli.auditLogDir) return '--audit-log-dir is for --url targets: the embedded server’s log is read from its own data dir';
  if (cli.auditLogDir && !existsSync(cli.auditLogDir)) return `--audit-log-dir ${cli.auditLogDir}: no such directory`;
  return undefined;
}

function replaySummary(r: LoadedReplay, roomRateCap: number): string {
  const s = r.script;
  const peak = Math.max(0, ...s.rooms.map((room) => room.peakPerSecond));
  const lines = [
    `replaying ${r.source} at ${s.speed}x: ${s.rooms.length} room(s), ${s.senders} sender(s), ${s.stats.recordedMessages} messages, ` +
      `${s.actions.length} moderation action(s)/event(s), ${s.audience} viewer(s) in the audience, about ${formatDuration(s.spanMs)} ` +
      `(${s.keepContent ? 'recorded content' : 'anonymised content'})`,
  ];
  const bad = Object.entries(r.log.malformed);
  if (bad.length) lines.push(`warning: ${bad.map(([k, n]) => `${n} ${k}`).join(', ')} line(s) skipped (e.g. ${r.log.examples.join('; ')})`);
  if (peak > roomRateCap) lines.push(`warning: the busiest room sends ${peak} messages/s at this speed, above the room limit of ${roomRateCap}: expect ERROR 429`);
  return lines.join('\n');
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A refused or unreachable control plane is a setup problem with a readable cause; anything
    // else is a bug and keeps its stack.
    say(error instanceof ControlPlaneError ? `bench could not set up the run: ${error.message}` : `bench failed: ${(error as Error).stack ?? String(error)}`);
    process.exit(2);
  },
);
