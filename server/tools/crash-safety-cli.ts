import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { runCrashSafety } from './crash-safety.ts';

// `npm run crash-safety -- --kills 50 --seed S [--writers 4] [--max-kill-delay-ms 400] [--out file.json]`
// Kills the server with SIGKILL at random moments during a stream of control-plane changes,
// restarts it on the same data dir each time, and counts acknowledged changes lost (must be 0).
// Exits 1 when any change is lost.

const { values } = parseArgs({
  options: {
    kills: { type: 'string', default: '50' },
    seed: { type: 'string' },
    writers: { type: 'string', default: '4' },
    'max-kill-delay-ms': { type: 'string', default: '400' },
    out: { type: 'string' },
  },
});

function positiveInteger(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a whole number ≥ 0, got ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}

// Exiting runs the harness's exit hook, which kills the server it has up.
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : positiveInteger('seed', values.seed);
const kills = positiveInteger('kills', values.kills!);
const writers = Math.max(1, positiveInteger('writers', values.writers!));
const maxKillDelayMs = positiveInteger('max-kill-delay-ms', values['max-kill-delay-ms']!);

process.stdout.write(`crash safety: ${kills} kills, ${writers} writers, seed ${seed} (replay: npm run crash-safety -- --kills ${kills} --seed ${seed})\n`);
const result = await runCrashSafety({
  kills,
  seed,
  writers,
  maxKillDelayMs,
  onRound(round) {
    process.stdout.write(
      `  kill ${String(round.round).padStart(3)}/${kills}  after ${String(round.killAfterMs).padStart(3)} ms  acknowledged ${String(round.acknowledged).padStart(4)}  in flight ${round.inFlight}  lost ${round.lost}\n`,
    );
  },
});

const at = new Date().toISOString();
const file = values.out ?? join('results', `crash-safety-${at.replace(/[:.]/g, '-')}.json`);
await mkdir(dirname(file), { recursive: true });
await writeFile(file, `${JSON.stringify({ at, node: process.version, ...result }, null, 2)}\n`);

process.stdout.write(
  `\nkills done            ${result.kills}\n` +
    `changes acknowledged  ${result.acknowledged} (of which ${result.handshakes} accepted handshakes)\n` +
    `changes lost          ${result.lost}${result.lost === 0 ? '' : '   <-- FAIL'}\n` +
    `in flight, written    ${result.inFlightFoundWritten} (unacknowledged changes found on disk: allowed)\n` +
    `rooms at the end      ${result.rooms}\n` +
    `seconds               ${result.seconds}\n` +
    `seed                  ${result.seed}\n` +
    `written to            ${file}\n`,
);
for (const example of result.lostExamples) process.stdout.write(`  lost: ${example}\n`);
process.exit(result.lost === 0 ? 0 : 1);
