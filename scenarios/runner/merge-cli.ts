import path from 'node:path';
import { formatSummary, type RunResult } from '../lib/results.ts';
import { MergeError, mergeResults } from './merge-results.ts';
import { writeResult } from './report.ts';
import { parseResultsCli, readResultsFiles } from './results-file.ts';

// `npm run bench:merge -- results/run-shard-*.json [--out FILE]`

const USAGE = `Usage: npm run bench:merge -- SHARD.json… [--out FILE]

  Merges the results of every shard of one run (npm run bench -- --shard i/n --run-id ID …) into
  one result: histograms added, loss judged again over all shards' senders and receivers.
  --out FILE   merged results (default results/<scenario>-<run id>-merged.json)`;

function main(): number {
  const cli = parseResultsCli('bench:merge', USAGE, process.argv.slice(2));
  if (typeof cli === 'number') return cli;
  const { files } = cli;
  const results = readResultsFiles('bench:merge', files);
  if (!results) return 2;
  let merged: RunResult;
  try {
    merged = mergeResults(results, files);
  } catch (error) {
    if (!(error instanceof MergeError)) throw error;
    process.stderr.write(`bench:merge: ${error.message}\n\n${USAGE}\n`);
    return 2;
  }
  const out = cli.out ?? path.join('results', `${merged.scenario}-${results[0]!.shard!.runId}-merged.json`);
  const charts = writeResult(out, merged);
  process.stdout.write(`${formatSummary(merged)}\n  results       ${out}\n  charts        ${charts}\n`);
  return merged.passed ? 0 : 1;
}

process.exit(main());
