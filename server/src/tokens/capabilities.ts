// Capabilities travel in the token and live on each connection as a bitmask: checking one is a
// single AND on the message path.

export const CAPABILITIES = ['SEND_MESSAGE', 'DISCONNECT_USER', 'DELETE_MESSAGE'] as const;
export type Capability = (typeof CAPABILITIES)[number];

export const Capability = {
  SEND_MESSAGE: 1,
  DISCONNECT_USER: 2,
  DELETE_MESSAGE: 4,
} as const satisfies Record<Capability, number>;

export function capabilityMask(capabilities: readonly Capability[]): number {
  let mask = 0;
  for (const capability of capabilities) mask |= Capability[capability];
  return mask;
}
