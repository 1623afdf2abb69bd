import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';
import { buildK6 } from '../k6/build.ts';

// `npm run k8s:configmap`: the ConfigMap the TestRuns of scenarios/k8s/ read their script from,
// every bundle of one variant keyed by its file name. Apply it with `kubectl apply -f`.

export const CONFIGMAP_NAME = 'chatstorm-k6';
const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export function configMapOf(files: readonly string[], name = CONFIGMAP_NAME): { apiVersion: string; kind: string; metadata: { name: string }; data: Record<string, string> } {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name },
    data: Object.fromEntries(files.map((file) => [path.basename(file), readFileSync(file, 'utf8')])),
  };
}

/** Builds the bundles and writes the ConfigMap of `variant` (k6 for k6 ≥ 0.52, k6-legacy before). */
export async function writeConfigMap(outRoot = path.join(ROOT, 'dist'), variant: 'k6' | 'k6-legacy' = 'k6'): Promise<string> {
  const files = (await buildK6(outRoot)).filter((file) => path.basename(path.dirname(file)) === variant);
  const out = path.join(outRoot, 'k8s', `${CONFIGMAP_NAME}.yaml`);
  mkdirSync(path.dirname(out), { recursive: true });
  writeFileSync(out, stringify(configMapOf(files)));
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const legacy = process.argv.includes('--legacy');
  process.stdout.write(`${path.relative(ROOT, await writeConfigMap(undefined, legacy ? 'k6-legacy' : 'k6'))}\n`);
}
