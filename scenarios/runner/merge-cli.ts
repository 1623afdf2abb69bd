import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { formatSummary, type RunResult } from '../lib/results.ts';
import { MergeError, mergeResults } from './merge-results.ts';
import { writeResult } from './report.ts';

// `npm run bench:merge -- results/run-shard-*.json [--out FILE]`

const USAGE = `Usage: npm run bench:merge -- SHARD.json… [--out FILE]

  Merges the results of every shard of one run (npm run bench -- --shard i/n --run-id ID …) into
  one result: histograms added, loss judged again over all shards' senders and receivers.
  --out FILE   merged results (default results/<scenario>-<run id>-merged.json)`;

function main(): number {
  let values: { out?: string; help?: boolean };
  let files: string[];
  try {
    const parsed = parseArgs({ args: process.argv.slice(2), options: { out: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
    values = parsed.values;
    files = parsed.positionals;
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const results: RunResult[] = [];
  for (const file of files) {
    try {
      results.push(JSON.parse(readFileSync(file, 'utf8')) as RunResult);
    } catch (error) {
      process.stderr.write(`${file}: ${(error as Error).message}\n`);
      return 2;
    }
  }
  let merged: RunResult;
  try {
    merged = mergeResults(results, files);
  } catch (error) {
    if (!(error instanceof MergeError)) throw error;
    process.stderr.write(`bench:merge: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  const out = values.out ?? path.join('results', `${merged.scenario}-${results[0]!.shard!.runId}-merged.json`);
  const charts = writeResult(out, merged);
  process.stdout.write(`${formatSummary(merged)}\n  results       ${out}\n  charts        ${charts}\n`);
  return merged.passed ? 0 : 1;
}

process.exit(main());
