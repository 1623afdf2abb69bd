import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { parseAllDocuments } from 'yaml';
import { CONFIGMAP_NAME, writeConfigMap } from '../k8s/configmap.ts';
import { vusFor } from '../k6/options.ts';
import { resolveProfile } from '../lib/profile.ts';
import { PROFILES } from '../profiles/index.ts';
import { REPO_ROOT, tempDir } from './support/processes.ts';

// scenarios/k8s/ as far as a machine without Kubernetes can check it (no kubectl, no cluster):
// the manifests parse, the fields k6-operator needs are there, and the ConfigMap they name holds
// the script key they read.

interface TestRun {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: {
    parallelism: number;
    script: { configMap: { name: string; file: string } };
    arguments?: string;
    runner: { image: string; env: { name: string; value: string }[] };
  };
}

const K8S_DIR = path.join(REPO_ROOT, 'scenarios/k8s');
const manifests = readdirSync(K8S_DIR)
  .filter((f) => /\.ya?ml$/.test(f))
  .map((file) => ({ file, docs: parseAllDocuments(readFileSync(path.join(K8S_DIR, file), 'utf8')) }));
const testRuns = manifests.flatMap(({ file, docs }) => docs.map((doc) => ({ file, run: doc.toJS() as TestRun })).filter(({ run }) => run?.kind === 'TestRun'));

function envOf(run: TestRun): Record<string, string> {
  return Object.fromEntries(run.spec.runner.env.map((e) => [e.name, e.value]));
}

describe('k6-operator manifests', () => {
  it('every manifest parses, and there is at least one TestRun', () => {
    for (const { file, docs } of manifests) for (const doc of docs) assert.deepEqual(doc.errors, [], `${file} parses`);
    assert.ok(testRuns.length > 0);
  });

  it('each TestRun has what k6-operator requires: name, parallelism, a script from the ConfigMap, a pinned runner image', () => {
    for (const { file, run } of testRuns) {
      assert.equal(run.apiVersion, 'k6.io/v1alpha1', file);
      assert.match(run.metadata?.name ?? '', /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, `${file}: metadata.name is a DNS label`);
      assert.ok(Number.isInteger(run.spec.parallelism) && run.spec.parallelism >= 1, `${file}: spec.parallelism`);
      assert.equal(run.spec.script.configMap.name, CONFIGMAP_NAME, `${file}: the script comes from npm run k8s:configmap`);
      assert.match(run.spec.runner.image, /^grafana\/k6:\d+\.\d+\.\d+$/, `${file}: runner image pinned to a k6 release`);
      assert.doesNotMatch(run.spec.arguments ?? '', /execution-segment/, `${file}: the operator sets the segments itself`);
    }
  });

  it('each TestRun writes to Prometheus by remote write and gives every pod the same target and run id', () => {
    for (const { file, run } of testRuns) {
      assert.match(run.spec.arguments ?? '', /--out experimental-prometheus-rw/, file);
      const env = envOf(run);
      assert.match(env.K6_PROMETHEUS_RW_SERVER_URL ?? '', /^https?:\/\/.+\/api\/v1\/write$/, `${file}: K6_PROMETHEUS_RW_SERVER_URL`);
      assert.match(env.CHATSTORM_URL ?? '', /^https?:\/\//, `${file}: CHATSTORM_URL`);
      assert.match(env.CHATSTORM_RUN_ID ?? '', /^[A-Za-z0-9_-]+$/, `${file}: CHATSTORM_RUN_ID, without which segmented instances refuse to start`);
    }
  });

  it('every pod gets VUs: the profile has at least as many VUs as the TestRun has pods', () => {
    for (const { file, run } of testRuns) {
      const name = run.spec.script.configMap.file.replace(/\.js$/, '');
      const input = PROFILES[name];
      assert.ok(input, `${file}: ${run.spec.script.configMap.file} is not a profile's bundle`);
      const vus = vusFor(resolveProfile(input, {}), Number(envOf(run).VIEWERS_PER_VU ?? 500));
      assert.ok(vus >= run.spec.parallelism, `${file}: ${vus} VU(s) for ${run.spec.parallelism} pods leaves pods idle`);
    }
  });

  it('npm run k8s:configmap writes the ConfigMap each TestRun names, with the script key it reads, for its k6 version', async (t) => {
    const out = tempDir(t);
    for (const { file, run } of testRuns) {
      const [major, minor] = run.spec.runner.image.split(':')[1]!.split('.').map(Number);
      const variant = major! > 0 || minor! >= 52 ? 'k6' : 'k6-legacy';
      const written = await writeConfigMap(path.join(out, variant), variant);
      const [configMap] = parseAllDocuments(readFileSync(written, 'utf8')).map((d) => d.toJS() as { kind: string; metadata: { name: string }; data: Record<string, string> });
      assert.equal(configMap!.kind, 'ConfigMap');
      assert.equal(configMap!.metadata.name, run.spec.script.configMap.name, file);
      const script = configMap!.data[run.spec.script.configMap.file];
      assert.ok(script, `${file}: key ${run.spec.script.configMap.file} in the ConfigMap (keys: ${Object.keys(configMap!.data)})`);
      assert.match(script, variant === 'k6' ? /from "k6\/websockets"/ : /from "k6\/experimental\/websockets"/, `${file}: the bundle for ${run.spec.runner.image}`);
    }
  });
});
