import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import type { RunResult } from '../lib/results.ts';

// Reading a results JSON someone points a tool at: the file may be anything (a k6 summary, a
// profile, a truncated write), so the fields a report reads are checked before anything renders,
// and the error says which file and what is wrong with it.

const percentiles = z.object({ count: z.number(), p50: z.number(), p99: z.number(), max: z.number() }).loose();
const nullableNumber = z.number().nullable();

const resultsShape = z
  .object({
    schemaVersion: z.number().int().positive(),
    scenario: z.string(),
    engine: z.enum(['node', 'k6']),
    target: z.object({ url: z.string(), kind: z.string() }).loose(),
    startedAt: z.string(),
    durationSeconds: z.number(),
    viewers: z.object({ peak: z.number(), target: z.number() }).loose(),
    handshakeMs: percentiles,
    messages: z.object({ sent: z.number() }).loose(),
    deliveries: z
      .object({ expected: z.number(), delivered: z.number(), missing: z.number(), duplicated: z.number(), outOfOrder: z.number(), perSecond: z.number(), peakPerSecond: z.number() })
      .loose(),
    latencyMs: percentiles,
    errors: z.record(z.string(), z.number()),
    apiErrors: z.record(z.string(), z.number()),
    generator: z.object({ cpuPercent: nullableNumber, warnings: z.array(z.string()), bottleneck: z.boolean() }).loose(),
    timeline: z.array(
      z
        .object({ t: z.number(), viewers: z.number(), target: z.number(), sentPerSecond: nullableNumber, deliveriesPerSecond: nullableNumber, p99Ms: nullableNumber, p50Ms: nullableNumber.optional(), generatorCpuPercent: z.number(), generatorBacklogMs: nullableNumber.optional() })
        .loose(),
    ),
    thresholds: z.array(z.object({ expression: z.string(), observed: nullableNumber, pass: z.boolean() }).loose()),
    passed: z.boolean(),
  })
  .loose();

export class ResultsFileError extends Error {}

export function readResultsFile(file: string): RunResult {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ResultsFileError(`${file}: cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new ResultsFileError(`${file}: not a results JSON: not JSON at all (${(error as Error).message})`);
  }
  const parsed = resultsShape.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(top level)'}: ${i.message}`);
    throw new ResultsFileError(`${file}: not a chatstorm results JSON (written by npm run bench / k6): ${issues.join('; ')}${parsed.error.issues.length > 3 ? `; and ${parsed.error.issues.length - 3} more` : ''}`);
  }
  return json as RunResult;
}

/**
 * The command line of a tool that reads results files (`FILE… [--out FILE] [--help]`): the files
 * and --out, or the exit code to leave with (help printed, or a usage error written).
 */
export function parseResultsCli(command: string, usage: string, argv: string[]): { files: string[]; out: string | undefined } | number {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options: { out: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
  } catch (error) {
    process.stderr.write(`${command}: ${(error as Error).message}\n\n${usage}\n`);
    return 2;
  }
  if (parsed.values.help) {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  if (parsed.positionals.length === 0) {
    process.stderr.write(`${command}: no results file given\n\n${usage}\n`);
    return 2;
  }
  return { files: parsed.positionals, out: parsed.values.out };
}

/** Every file read and checked, or undefined once one is not a results file (which is said on stderr). */
export function readResultsFiles(command: string, files: readonly string[]): RunResult[] | undefined {
  const results: RunResult[] = [];
  for (const file of files) {
    try {
      results.push(readResultsFile(file));
    } catch (error) {
      if (!(error instanceof ResultsFileError)) throw error;
      process.stderr.write(`${command}: ${error.message}\n`);
      return undefined;
    }
  }
  return results;
}
