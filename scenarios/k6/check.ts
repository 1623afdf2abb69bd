import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildK6, LEGACY_MODULES, ROOT } from './build.ts';

// `npm run k6:check`: what can be verified about the k6 scripts on a machine without k6.
//  1. they type-check against @types/k6 (scenarios/k6/tsconfig.json: k6 types only, no Node
//     types, so scenarios/lib is checked to be engine-free too);
//  2. they bundle, and every bundle imports k6 modules only — the right ones for its variant —
//     and exports what k6 looks for (default, options, setup, teardown, handleSummary): modern
//     bundles as ES modules (no require), legacy ones as CommonJS (require of k6 modules only).
// Running the bundles is done by scenarios/test/real-k6.test.ts (legacy bundles, real k6 v0.48)
// and scenarios/test/k6-bundles.test.ts (modern bundles, a k6 emulation in Node).

const MODERN = ['k6', 'k6/http', 'k6/metrics', 'k6/execution', 'k6/websockets', 'k6/timers'];
const LEGACY = ['k6', 'k6/http', 'k6/metrics', 'k6/execution', ...Object.values(LEGACY_MODULES)];
const EXPORTS = ['default', 'options', 'setup', 'teardown', 'handleSummary'];

export function importsOf(source: string): string[] {
  const found = new Set<string>();
  const patterns = [
    /^\s*import\s+(?:[^'"]*?\s+from\s+)?["']([^"']+)["']/gm,
    /^\s*export\s+[^'"]*?\s+from\s+["']([^"']+)["']/gm,
    /\bimport\s*\(\s*["']([^"']+)["']\s*\)/g,
    /\brequire\s*\(\s*["']([^"']+)["']\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of source.matchAll(pattern)) found.add(m[1]!);
  return [...found].sort();
}

export function exportsOf(source: string): string[] {
  const block = /^export\s*\{([^}]*)\}/m.exec(source);
  if (!block) return [];
  return block[1]!
    .split(',')
    .map((part) => part.trim().split(/\s+as\s+/).pop()!.trim())
    .filter(Boolean)
    .sort();
}

/** What an esbuild CommonJS bundle exports: the keys of its `__export(x_exports, { … })` that module.exports becomes. */
export function commonJsExportsOf(source: string): string[] {
  const block = /^__export\((\w+), \{([^}]*)\}\);\s*\nmodule\.exports = __toCommonJS\(\1\);/m.exec(source);
  if (!block) return [];
  return block[2]!
    .split(',')
    .map((part) => part.trim().split(':')[0]!.trim())
    .filter(Boolean)
    .sort();
}

export function typecheckK6(): string[] {
  const tsc = path.join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const run = spawnSync(process.execPath, [tsc, '-p', path.join(ROOT, 'scenarios/k6/tsconfig.json')], { encoding: 'utf8' });
  return run.status === 0 ? [] : [`type check against @types/k6 failed:\n${run.stdout}${run.stderr}`];
}

export function inspectBundle(file: string, legacy: boolean): string[] {
  const source = readFileSync(file, 'utf8');
  const problems: string[] = [];
  const allowed = legacy ? LEGACY : MODERN;
  for (const specifier of importsOf(source)) {
    if (!allowed.includes(specifier)) problems.push(`${file}: imports "${specifier}", not a k6 module${legacy ? ' of k6 v0.48' : ''}`);
  }
  if (!legacy && /\brequire\s*\(/.test(source)) problems.push(`${file}: calls require()`);
  if (legacy && /^\s*(import|export)\b/m.test(source)) problems.push(`${file}: ES module syntax (k6 v0.48 would run it through Babel)`);
  const exported = legacy ? commonJsExportsOf(source) : exportsOf(source);
  for (const name of EXPORTS) if (!exported.includes(name)) problems.push(`${file}: does not export ${name}`);
  return problems;
}

export async function checkK6(outRoot?: string): Promise<{ files: string[]; problems: string[] }> {
  const problems = typecheckK6();
  const files = await buildK6(outRoot);
  for (const file of files) problems.push(...inspectBundle(file, file.includes(`${path.sep}k6-legacy${path.sep}`)));
  return { files, problems };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = mkdtempSync(path.join(os.tmpdir(), 'chatstorm-k6-check-'));
  try {
    const { files, problems } = await checkK6(out);
    for (const f of files) process.stdout.write(`bundled ${path.basename(path.dirname(f))}/${path.basename(f)}: ${importsOf(readFileSync(f, 'utf8')).join(', ')}\n`);
    if (problems.length) {
      process.stderr.write(`${problems.join('\n')}\n`);
      process.exitCode = 1;
    } else {
      process.stdout.write(`k6 scripts: type-checked against @types/k6, ${files.length} bundles import k6 modules only\n`);
    }
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}
