import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { loadConfig, USAGE } from '../../server/src/config.ts';
import { PROMETHEUS_UID } from '../src/panels.ts';
import {
  hostPathOf,
  isPinned,
  mountsOf,
  portsOf,
  readCompose,
  readYaml,
  REPO_ROOT,
  type ComposeService,
} from './support/compose-file.ts';

// No Docker engine runs in CI, so docker-compose.yml is checked statically: what `docker compose
// up` would trip over first (a missing file, a moving image tag, a port one side changed).

interface PrometheusConfig {
  global: { scrape_interval: string };
  rule_files: string[];
  scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
}
interface GrafanaDatasources {
  datasources: { uid: string; type: string; url: string; jsonData: { timeInterval: string } }[];
}
interface GrafanaDashboardProviders {
  providers: { type: string; options: { path: string } }[];
}

const compose = readCompose();
const { chatstorm, prometheus, grafana, k6 } = compose.services as Record<string, ComposeService>;
const prometheusYml = readYaml<PrometheusConfig>('dashboards/prometheus.yml');

function targetsOf(job: string): string[] {
  const config = prometheusYml.scrape_configs.find((c) => c.job_name === job);
  assert.ok(config, `dashboards/prometheus.yml has no job "${job}"`);
  return config.static_configs.flatMap((s) => s.targets);
}

function flag(service: ComposeService, name: string): string | undefined {
  const prefix = `--${name}=`;
  return service.command?.find((arg) => arg.startsWith(prefix))?.slice(prefix.length);
}

/** `http://host:port/…` or `host:port` → port. */
function portIn(url: string): number {
  return Number(/:(\d+)(?:\/|$)/.exec(url)?.[1]);
}

describe('docker-compose.yml', () => {
  test('declares the server, Prometheus and Grafana by default and k6 only under the load profile', () => {
    for (const name of ['chatstorm', 'prometheus', 'grafana', 'k6']) assert.ok(compose.services[name], `no ${name} service`);
    assert.deepEqual(k6!.profiles, ['load']);
    for (const service of [chatstorm, prometheus, grafana]) assert.equal(service!.profiles, undefined);
  });

  test('every image is pinned to a release, including the base images of what it builds', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      if (service.build) {
        const dockerfile = `${service.build.context}/${service.build.dockerfile ?? 'Dockerfile'}`;
        const text = readFileSync(`${REPO_ROOT}${dockerfile}`, 'utf8');
        const bases = [...text.matchAll(/^FROM\s+(\S+)/gm)].map((m) => m[1]!);
        assert.ok(bases.length > 0, `${dockerfile} has no FROM`);
        for (const base of bases) assert.ok(isPinned(base), `${dockerfile}: base image ${base} is not pinned`);
      } else {
        assert.ok(service.image && isPinned(service.image), `${name}: image ${service.image} is not pinned to a release`);
      }
    }
  });

  test('the server image is Node 20 on Debian (glibc), where the uWebSockets.js native build loads', () => {
    const text = readFileSync(`${REPO_ROOT}${chatstorm!.build!.context}/${chatstorm!.build!.dockerfile}`, 'utf8');
    assert.match(text, /^FROM node:20\.\d+\.\d+-(bookworm|bullseye)(-slim)?\s*$/m);
  });

  test('every file the stack mounts or copies exists in the repository', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      for (const mount of mountsOf(service)) {
        if (!mount.bind) continue;
        // dist/ is build output (git-ignored); its producer is checked in the next test.
        if (mount.source.startsWith('./dist/')) continue;
        assert.ok(existsSync(`${REPO_ROOT}${mount.source}`), `${name} mounts ${mount.source}, which does not exist`);
      }
    }
    const dockerfile = `${chatstorm!.build!.context}/${chatstorm!.build!.dockerfile}`;
    const text = readFileSync(`${REPO_ROOT}${dockerfile}`, 'utf8');
    for (const [, sources] of text.matchAll(/^COPY\s+(.+)\s+\S+\s*$/gm)) {
      for (const source of sources!.split(/\s+/)) {
        assert.ok(existsSync(`${REPO_ROOT}${source}`), `${dockerfile} copies ${source}, which does not exist`);
      }
    }
  });

  test('the k6 service runs a bundle that `npm run k6:build` writes into the mounted dist/k6', () => {
    const scriptsDir = mountsOf(k6!).find((m) => m.source === './dist/k6');
    assert.ok(scriptsDir, 'k6 must mount ./dist/k6');
    const script = k6!.command!.at(-1)!;
    assert.ok(script.startsWith(`${scriptsDir.target}/`), `k6 runs ${script}, outside the mounted ${scriptsDir.target}`);
    const scripts = (JSON.parse(readFileSync(`${REPO_ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
    assert.ok(scripts['k6:build'], 'package.json has no "k6:build" script to produce dist/k6');
    // CI may or may not have built the bundles before the tests; when it has, the default one must be there.
    if (existsSync(`${REPO_ROOT}dist/k6`)) {
      const bundle = hostPathOf(k6!, script)!;
      assert.ok(existsSync(`${REPO_ROOT}${bundle}`), `${bundle} is missing after npm run k6:build`);
    }
    assert.deepEqual(
      k6!.command!.slice(0, 3),
      ['run', '--out', 'experimental-prometheus-rw'],
      'k6 must push its metrics by Prometheus remote write',
    );
  });

  test('named volumes are declared and every declared volume is used', () => {
    const used = new Set(Object.values(compose.services).flatMap((s) => mountsOf(s).filter((m) => !m.bind).map((m) => m.source)));
    assert.deepEqual([...used].sort(), Object.keys(compose.volumes ?? {}).sort());
    for (const name of ['chatstorm', 'prometheus', 'grafana']) {
      assert.ok(mountsOf(compose.services[name]!).some((m) => !m.bind), `${name} keeps its data in a named volume`);
    }
  });

  test('every long-running service has a health check, and dependants wait for it', () => {
    for (const name of ['chatstorm', 'prometheus', 'grafana']) {
      assert.ok(compose.services[name]!.healthcheck?.test.length, `${name} has no healthcheck`);
    }
    for (const [name, service] of Object.entries(compose.services)) {
      for (const [dependency, { condition }] of Object.entries(service.depends_on ?? {})) {
        assert.ok(compose.services[dependency]?.healthcheck, `${name} waits for ${dependency}, which has no healthcheck`);
        assert.equal(condition, 'service_healthy', `${name} should wait for ${dependency} to be healthy`);
      }
    }
  });
});

describe('ports and paths line up across docker-compose.yml, prometheus.yml, Grafana and the server', () => {
  test('the server environment is valid server configuration, listening where Prometheus scrapes it', () => {
    const env = Object.fromEntries(Object.entries(chatstorm!.environment!).map(([k, v]) => [k, String(v)]));
    for (const name of Object.keys(env)) {
      assert.match(USAGE, new RegExp(`\\b${name}\\b`), `${name} is not a variable the server reads (see --help)`);
    }
    const config = loadConfig([], env);
    assert.equal(config.host, '0.0.0.0', 'inside a container the server must listen on every interface');
    assert.equal(config.bench, true);
    const port = config.metricsPort ?? config.port;
    assert.deepEqual(targetsOf('chatstorm'), [`chatstorm:${port}`]);
    assert.ok(portsOf(chatstorm!).some((p) => p.container === config.port), `port ${config.port} is not published`);
    assert.equal(portIn(chatstorm!.healthcheck!.test.join(' ')), config.port, 'the health check probes another port');
    assert.equal(hostPathOf(chatstorm!, config.dataDir), undefined, 'the data dir is a named volume, not a bind mount');
    assert.ok(mountsOf(chatstorm!).some((m) => m.target === config.dataDir), `the data dir ${config.dataDir} is not a volume`);
  });

  test('Prometheus loads dashboards/prometheus.yml and its rule files, and accepts remote write', () => {
    const configPath = flag(prometheus!, 'config.file')!;
    assert.equal(hostPathOf(prometheus!, configPath), 'dashboards/prometheus.yml');
    const configDir = configPath.slice(0, configPath.lastIndexOf('/'));
    for (const ruleFile of prometheusYml.rule_files) {
      const host = hostPathOf(prometheus!, `${configDir}/${ruleFile}`);
      assert.ok(host && existsSync(`${REPO_ROOT}${host}`), `rule file ${ruleFile} is not mounted beside ${configPath}`);
    }
    assert.ok(prometheus!.command!.includes('--web.enable-remote-write-receiver'));
    assert.ok(portsOf(prometheus!).some((p) => p.container === 9090));
    assert.deepEqual(targetsOf('prometheus'), ['localhost:9090']);
    assert.equal(portIn(prometheus!.healthcheck!.test.join(' ')), 9090);
  });

  test('k6 writes to the Prometheus service and targets the server by its service name and port', () => {
    assert.equal(k6!.environment!.K6_PROMETHEUS_RW_SERVER_URL, 'http://prometheus:9090/api/v1/write');
    assert.equal(k6!.environment!.CHATSTORM_URL, `http://chatstorm:${chatstorm!.environment!.PORT}`);
    assert.match(String(k6!.environment!.K6_PROMETHEUS_RW_TREND_STATS), /p\(99\)/, 'the dashboards and alerts read k6_*_p99');
    // Variables for the scenario scripts (not k6's own K6_*) must be ones the scripts read.
    const script = readFileSync(`${REPO_ROOT}scenarios/k6/script.ts`, 'utf8');
    for (const name of Object.keys(k6!.environment!).filter((key) => !key.startsWith('K6_'))) {
      assert.ok(script.includes(`__ENV.${name}`), `scenarios/k6/script.ts does not read ${name}`);
    }
  });

  test('Grafana provisions the Prometheus data source the dashboards default to, at the scrape interval', () => {
    const provisioning = hostPathOf(grafana!, '/etc/grafana/provisioning');
    assert.equal(provisioning, 'dashboards/grafana/provisioning');
    const { datasources } = readYaml<GrafanaDatasources>(`${provisioning}/datasources/prometheus.yml`);
    const datasource = datasources.find((d) => d.type === 'prometheus');
    assert.ok(datasource);
    assert.equal(datasource.uid, PROMETHEUS_UID);
    assert.equal(datasource.url, 'http://prometheus:9090');
    assert.equal(datasource.jsonData.timeInterval, prometheusYml.global.scrape_interval);
  });

  test('Grafana loads the generated dashboards from where they are mounted, with the server dashboard as home', () => {
    const { providers } = readYaml<GrafanaDashboardProviders>('dashboards/grafana/provisioning/dashboards/chatstorm.yml');
    assert.equal(providers.length, 1);
    assert.equal(hostPathOf(grafana!, providers[0]!.options.path), 'dashboards/json');
    const home = String(grafana!.environment!.GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH);
    const homeOnHost = hostPathOf(grafana!, home);
    assert.ok(homeOnHost && existsSync(`${REPO_ROOT}${homeOnHost}`), `home dashboard ${home} is not a mounted file`);
    assert.equal(grafana!.environment!.GF_AUTH_ANONYMOUS_ENABLED, 'true');
    assert.equal(grafana!.environment!.GF_AUTH_ANONYMOUS_ORG_ROLE, 'Viewer');
    assert.ok(portsOf(grafana!).some((p) => p.host === 3000 && p.container === 3000), 'Grafana must be at http://localhost:3000');
  });
});
