import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { loadConfig } from '../../server/src/config.ts';
import { hostPathOf, isPinned, portsOf, readCompose, readYaml, REPO_ROOT, type ComposeService } from './support/compose-file.ts';

// The cluster profile of docker-compose.yml, checked statically (no Docker engine here): Redis,
// two or more chatstorm nodes, HAProxy naming every node, Prometheus scraping every node.

const compose = readCompose();
const cluster = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('cluster'));
const nodes = cluster.filter(([name]) => /^chatstorm-\d+$/.test(name));
const lb = compose.services.lb as ComposeService;
const HAPROXY_CFG = '/usr/local/etc/haproxy/haproxy.cfg';

function envOf(service: ComposeService): Record<string, string> {
  return Object.fromEntries(Object.entries(service.environment ?? {}).map(([k, v]) => [k, String(v)]));
}

/** `server NAME HOST:PORT …` lines of one backend of an HAProxy config. */
function haproxyServers(text: string, backend: string): { name: string; host: string; port: number }[] {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `backend ${backend}`);
  assert.ok(start >= 0, `haproxy.cfg has no backend ${backend}`);
  const servers = [];
  for (const line of lines.slice(start + 1)) {
    if (/^\S/.test(line)) break; // the next section
    const m = /^\s+server\s+(\S+)\s+([^:\s]+):(\d+)/.exec(line);
    if (m) servers.push({ name: m[1]!, host: m[2]!, port: Number(m[3]) });
  }
  return servers;
}

describe('docker-compose.yml cluster profile', () => {
  test('holds Redis, a load balancer and at least two chatstorm nodes, all only under the profile', () => {
    assert.ok(compose.services.redis?.profiles?.includes('cluster'), 'a redis service under the cluster profile');
    assert.ok(lb?.profiles?.includes('cluster'), 'an lb service under the cluster profile');
    assert.ok(nodes.length >= 2, `two or more chatstorm-<n> nodes, found ${nodes.map(([n]) => n)}`);
    for (const [name, service] of cluster) {
      if (service.image) assert.ok(isPinned(service.image), `${name}: image ${service.image} is not pinned`);
      else assert.equal(service.build?.dockerfile, 'docker/chatstorm.Dockerfile', `${name} builds the server image`);
    }
  });

  test('every node is valid server configuration sharing one Redis and one token key, with its own node id and data volume', () => {
    const configs = nodes.map(([, service]) => loadConfig([], envOf(service)));
    const redis = compose.services.redis!;
    for (const [i, config] of configs.entries()) {
      const name = nodes[i]![0];
      assert.equal(config.host, '0.0.0.0', `${name} listens on every interface`);
      assert.equal(config.redisUrl, 'redis://redis:6379', `${name} uses the redis service`);
      assert.equal(config.nodeId, name, `${name} labels its metrics with its service name`);
      assert.equal(nodes[i]![1].depends_on?.redis?.condition, 'service_healthy', `${name} waits for Redis`);
      assert.equal(hostPathOf(nodes[i]![1], config.dataDir), undefined, `${name} keeps its data in a named volume`);
    }
    assert.ok(redis.healthcheck?.test.join(' ').includes('ping'));
    assert.equal(new Set(configs.map((c) => c.tokenKey)).size, 1, 'one token key on every node: a token from one node works on another');
    assert.ok(configs[0]!.tokenKey, 'the token key is set, not generated per node');
    const volumes = nodes.map(([, s]) => s.volumes?.[0]?.split(':')[0]);
    assert.equal(new Set(volumes).size, nodes.length, 'no two nodes share a data volume');
  });

  test('the committed HAProxy config is mounted and names every node at the port it listens on, and nothing else', () => {
    const source = hostPathOf(lb, HAPROXY_CFG);
    assert.equal(source, 'docker/haproxy.cfg');
    assert.ok(existsSync(`${REPO_ROOT}${source}`), `${source} is committed`);
    const text = readFileSync(`${REPO_ROOT}${source}`, 'utf8');
    const servers = haproxyServers(text, 'chatstorm-nodes');
    const expected = nodes.map(([name, service]) => ({ name, host: name, port: loadConfig([], envOf(service)).port }));
    assert.deepEqual(servers, expected);
    assert.match(text, /option httpchk GET \/healthz/, 'HAProxy takes a node out when its /healthz fails');
    assert.match(text, /timeout tunnel/, 'upgraded WebSockets are not cut at the HTTP timeouts');
    const bind = Number(/frontend chatstorm\n\s+bind :(\d+)/.exec(text)?.[1]);
    assert.ok(portsOf(lb).some((p) => p.container === bind), `the lb publishes its frontend port ${bind}`);
    const hostPorts = Object.values(compose.services).flatMap((s) => portsOf(s).map((p) => p.host));
    assert.equal(new Set(hostPorts).size, hostPorts.length, `no two services publish one host port: ${hostPorts}`);
    for (const [name] of nodes) assert.equal(lb.depends_on?.[name]?.condition, 'service_healthy', `lb waits for ${name}`);
  });

  test('Prometheus scrapes every node directly, not through the load balancer', () => {
    const prometheus = readYaml<{ scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[] }>('dashboards/prometheus.yml');
    const targets = (job: string) => prometheus.scrape_configs.find((c) => c.job_name === job)?.static_configs.flatMap((s) => s.targets) ?? [];
    assert.deepEqual(
      targets('chatstorm-cluster').sort(),
      nodes.map(([name, service]) => {
        const config = loadConfig([], envOf(service));
        return `${name}:${config.metricsPort ?? config.port}`;
      }).sort(),
    );
    assert.ok(!targets('chatstorm-cluster').some((t) => t.startsWith('lb:')));
  });
});
