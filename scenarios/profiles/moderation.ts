import type { ProfileInput } from '../lib/profile.ts';

export default {
  name: 'moderation',
  description:
    'DeleteMessage and DisconnectUser storms in 5 rooms of 200, half over the moderators’ WebSockets and half through the HTTP API; disconnected viewers rejoin with a fresh token.',
  duration: '40s',
  rampUp: '8s',
  drain: '3s',
  viewers: 1000,
  rooms: 5,
  chattersPerRoom: 4,
  rate: 2,
  messageBytes: 64,
  moderation: { deleteMessagePerSecond: 10, disconnectUserPerSecond: 4, httpShare: 0.5 },
  reconnect: { afterDisconnectUser: true, delay: '500ms' },
  thresholds: ['loss == 0', 'duplicates == 0', 'outOfOrder == 0', 'p99 < 250ms'],
} satisfies ProfileInput;
