import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { renderHtmlReport } from './html-report.ts';
import { parseResultsCli, readResultsFiles } from './results-file.ts';

// `npm run report -- results/a.json [results/b.json …] [--out FILE]`: the page of one run again, or
// several runs side by side, after the fact.

const USAGE = `Usage: npm run report -- RESULTS.json… [--out FILE]

  Renders results files (npm run bench, bench:merge, k6) as one self-contained HTML page: one run,
  or several side by side (series overlaid, one table column per run).
  --out FILE   the page (default: beside the first file, .html for one run, .compare.html for several)`;

function main(): number {
  const cli = parseResultsCli('report', USAGE, process.argv.slice(2));
  if (typeof cli === 'number') return cli;
  const { files } = cli;
  const results = readResultsFiles('report', files);
  if (!results) return 2;
  const base = files[0]!.replace(/\.json$/, '');
  const out = cli.out ?? (files.length === 1 ? `${base}.html` : `${base}.compare.html`);
  // Each run is named after its file: two runs of one profile differ by nothing else a reader sees.
  const names = files.length === 1 ? [results[0]!.scenario] : files.map((f) => path.basename(f, '.json'));
  mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
  writeFileSync(out, renderHtmlReport(results, names));
  process.stdout.write(`report        ${out} (${files.length} run${files.length > 1 ? 's' : ''})\n`);
  return 0;
}

process.exit(main());
