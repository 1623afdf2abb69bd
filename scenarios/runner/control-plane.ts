import type { ControlPlane } from '../lib/ports.ts';
import { AwsControlPlane } from './aws-control-plane.ts';
import { ChatstormControlPlane } from './chatstorm-control-plane.ts';

/** Serializable, so each worker thread builds its own client from it. */
export type ControlPlaneConfig = { kind: 'http'; url: string } | { kind: 'aws'; region: string; endpoint?: string };

export function createControlPlane(config: ControlPlaneConfig): ControlPlane {
  return config.kind === 'aws' ? new AwsControlPlane(config.region, config.endpoint) : new ChatstormControlPlane(config.url);
}
