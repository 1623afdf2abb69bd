import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parse } from 'yaml';

// Reading docker-compose.yml the way `docker compose config` would, as far as the static checks
// need: ${VAR:-default} interpolation with an empty environment, and the short volume syntax.

export const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));

export interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string | number | boolean>;
  ports?: string[];
  volumes?: string[];
  profiles?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
}

export interface ComposeFile {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
}

/** Compose interpolation with no variables set: `${X:-d}` and `${X-d}` become d, `${X}` becomes ''. */
export function interpolate(text: string): string {
  return text.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}/g, (_match, _name: string, fallback?: string) => fallback ?? '');
}

export function readYaml<T>(relativePath: string): T {
  return parse(readFileSync(`${REPO_ROOT}${relativePath}`, 'utf8')) as T;
}

export function readCompose(): ComposeFile {
  // merge: docker compose honours YAML merge keys (<<: *anchor), which YAML 1.2 leaves to the reader.
  return parse(interpolate(readFileSync(`${REPO_ROOT}docker-compose.yml`, 'utf8')), { merge: true }) as ComposeFile;
}

export interface Mount {
  source: string;
  target: string;
  /** A path on the host (./…), as opposed to a named volume. */
  bind: boolean;
}

export function mountsOf(service: ComposeService): Mount[] {
  return (service.volumes ?? []).map((spec) => {
    const [source = '', target = ''] = spec.split(':');
    return { source, target, bind: source.startsWith('.') || source.startsWith('/') };
  });
}

/** The host path bound at a container path (or at a folder containing it), relative to the repo. */
export function hostPathOf(service: ComposeService, containerPath: string): string | undefined {
  for (const mount of mountsOf(service)) {
    if (!mount.bind) continue;
    if (containerPath === mount.target) return mount.source.replace(/^\.\//, '');
    if (containerPath.startsWith(`${mount.target}/`)) {
      return `${mount.source.replace(/^\.\//, '')}/${containerPath.slice(mount.target.length + 1)}`;
    }
  }
  return undefined;
}

/** "host:container" port mappings as numbers. */
export function portsOf(service: ComposeService): { host: number; container: number }[] {
  return (service.ports ?? []).map((spec) => {
    const [host, container] = String(spec).split(':').map(Number);
    return { host: host!, container: container! };
  });
}

/** An image reference pinned to a release (name:1.2.3, name:v1.2.3-suffix) or a digest; never latest or a bare major. */
export function isPinned(image: string): boolean {
  if (/@sha256:[0-9a-f]{64}$/.test(image)) return true;
  const tag = image.split('/').pop()!.split(':')[1];
  return tag !== undefined && /^v?\d+\.\d+\.\d+([.-][\w.-]+)?$/.test(tag);
}
