import type { ProfileInput } from '../lib/profile.ts';

export default {
  name: 'mixed',
  description:
    'Everything at once, for the chat-log audit (--audit): 600 viewers in 6 rooms chatting, a moderator per room deleting messages and disconnecting viewers (half over WebSocket, half over HTTP), churn with a leave storm, and one-minute sessions that expire and reconnect.',
  // Long enough for the first sessions to expire (60 s) while the load still runs.
  duration: '70s',
  rampUp: '5s',
  drain: '3s',
  viewers: 600,
  rooms: 6,
  chattersPerRoom: 3,
  rate: 2,
  messageBytes: 64,
  sessionDurationMinutes: 1,
  reconnect: { afterDisconnectUser: true, afterSessionExpiry: true, delay: '500ms' },
  churn: { leavePerSecond: 0.01, rejoinDelay: '1s', storms: [{ at: '30s', leave: 0.5 }] },
  moderation: { deleteMessagePerSecond: 2, disconnectUserPerSecond: 1, httpShare: 0.5 },
  thresholds: ['loss == 0', 'duplicates == 0', 'outOfOrder == 0'],
} satisfies ProfileInput;
