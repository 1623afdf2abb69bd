import { planPinning, pinSelf } from './cpu-pinning.ts';
import type { ControlPlaneConfig } from './control-plane.ts';
import { startEmbeddedServer, type EmbeddedServer } from './embedded-server.ts';
import type { RunResult } from '../lib/results.ts';

// What a run is pointed at: real IVS, a server given by URL, or chatstorm started here. Shared by
// `npm run bench` and `npm run capacity`, so both build the same target from the same flags.

export interface Target {
  kind: RunResult['target']['kind'];
  /** What the report names as the target. */
  url: string;
  wsUrl: string;
  /** Several nodes: viewer i joins wsUrls[i mod n] (wsUrl is then the first). */
  wsUrls?: string[];
  control: ControlPlaneConfig;
  /** The server's own /metrics, for its CPU and memory; absent for AWS. */
  metricsUrl?: string;
  /** The highest maximumMessageRatePerSecond the target accepts. */
  roomRateCap: number;
  /** Rooms this run created are deleted at the end (not needed when the server goes away anyway). */
  cleanUp: boolean;
}

export interface TargetOptions {
  url?: string;
  urls?: string[];
  wsUrl?: string;
  awsRegion?: string;
  /** Shards share rooms: none may delete them while another still runs. */
  shard?: unknown;
  pin: boolean;
  /** Extra flags for an embedded server. */
  serverArgs?: string[];
}

export interface BuiltTarget {
  target: Target;
  /** Set when chatstorm was started here: the caller stops it. */
  server?: EmbeddedServer;
}

const IVS_MAX_ROOM_RATE = 100;

export function toWebSocketUrl(url: string): string {
  return url.replace(/^http/, 'ws').replace(/\/+$/, '') + '/';
}

export async function buildTarget(o: TargetOptions, say: (line: string) => void): Promise<BuiltTarget> {
  const built = await baseTarget(o, say);
  if (o.wsUrl) built.target.wsUrl = o.wsUrl;
  return built;
}

async function baseTarget(o: TargetOptions, say: (line: string) => void): Promise<BuiltTarget> {
  if (o.awsRegion) {
    return {
      target: {
        kind: 'aws',
        url: o.url ?? `https://ivschat.${o.awsRegion}.amazonaws.com`,
        wsUrl: o.url ? toWebSocketUrl(o.url) : `wss://edge.ivschat.${o.awsRegion}.amazonaws.com`,
        control: { kind: 'aws', region: o.awsRegion, ...(o.url ? { endpoint: o.url } : {}) },
        roomRateCap: IVS_MAX_ROOM_RATE,
        cleanUp: true,
      },
    };
  }
  if (o.url) {
    const base = o.url.replace(/^ws/, 'http').replace(/\/+$/, '');
    return {
      target: {
        kind: 'url',
        url: base,
        wsUrl: toWebSocketUrl(base),
        control: { kind: 'http', url: base },
        metricsUrl: `${base}/metrics`,
        roomRateCap: IVS_MAX_ROOM_RATE,
        cleanUp: !o.shard,
        ...(o.urls ? { wsUrls: o.urls.map((u) => toWebSocketUrl(u.replace(/^ws/, 'http'))) } : {}),
      },
    };
  }
  const pinning = o.pin ? planPinning() : undefined;
  const server = await startEmbeddedServer({ ...(pinning ? { cores: pinning.serverCores } : {}), ...(o.serverArgs ? { extraArgs: o.serverArgs } : {}) });
  // process.exit (a second Ctrl-C, a crash) skips the caller's orderly stop: never leave the server running.
  const pid = server.pid;
  process.once('exit', () => {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  });
  const pinned = pinning ? pinSelf(pinning.generatorCores) : false;
  say(
    `chatstorm started at ${server.url} (pid ${server.pid})` +
      (pinned ? `; server on core ${pinning!.serverCores}, generator on core(s) ${pinning!.generatorCores}` : '; not pinned'),
  );
  return {
    server,
    target: {
      kind: 'embedded',
      url: server.url,
      wsUrl: toWebSocketUrl(server.url),
      control: { kind: 'http', url: server.url },
      metricsUrl: `${server.url}/metrics`,
      roomRateCap: 1_000_000,
      cleanUp: false,
    },
  };
}
