import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { RunResult } from '../lib/results.ts';
import { renderHtmlReport } from './html-report.ts';
import { readResultsFile, ResultsFileError } from './results-file.ts';

// `npm run report -- results/a.json [results/b.json …] [--out FILE]`: the page of one run again, or
// several runs side by side, after the fact.

const USAGE = `Usage: npm run report -- RESULTS.json… [--out FILE]

  Renders results files (npm run bench, bench:merge, k6) as one self-contained HTML page: one run,
  or several side by side (series overlaid, one table column per run).
  --out FILE   the page (default: beside the first file, .html for one run, .compare.html for several)`;

function main(): number {
  let values: { out?: string; help?: boolean };
  let files: string[];
  try {
    const parsed = parseArgs({ args: process.argv.slice(2), options: { out: { type: 'string' }, help: { type: 'boolean' } }, allowPositionals: true, strict: true });
    values = parsed.values;
    files = parsed.positionals;
  } catch (error) {
    process.stderr.write(`report: ${(error as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (files.length === 0) {
    process.stderr.write(`report: no results file given\n\n${USAGE}\n`);
    return 2;
  }
  const results: RunResult[] = [];
  for (const file of files) {
    try {
      results.push(readResultsFile(file));
    } catch (error) {
      if (!(error instanceof ResultsFileError)) throw error;
      process.stderr.write(`report: ${error.message}\n`);
      return 2;
    }
  }
  const base = files[0]!.replace(/\.json$/, '');
  const out = values.out ?? (files.length === 1 ? `${base}.html` : `${base}.compare.html`);
  // Each run is named after its file: two runs of one profile differ by nothing else a reader sees.
  const names = files.length === 1 ? [results[0]!.scenario] : files.map((f) => path.basename(f, '.json'));
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, renderHtmlReport(results, names));
  process.stdout.write(`report        ${out} (${files.length} run${files.length > 1 ? 's' : ''})\n`);
  return 0;
}

process.exit(main());
