import type { Profile } from '../lib/profile.ts';
import type { ReplayScript } from '../lib/replay/replay-script.ts';
import type { RoomRef } from '../lib/ports.ts';
import type { ConnectionSummary } from '../lib/receive-tracker.ts';
import type { ControlPlaneConfig } from './control-plane.ts';
import type { Counters } from './counters.ts';
import type { RecorderSnapshot } from './latency-recorder.ts';

// What the main thread and the worker threads say to each other.

export interface WorkerInit {
  profile: Profile;
  slice: { index: number; count: number };
  rooms: RoomRef[];
  wsUrl: string;
  wsUrls?: string[];
  control: ControlPlaneConfig;
  reportMs: number;
  transport: 'ws' | 'raw';
  /** Counting receive mode (raw transport): plain viewers decode every Nth MESSAGE frame; 0 or absent = decode all. */
  decodeEvery?: number;
  replay?: ReplayScript;
}

export interface WorkerReport {
  type: 'report';
  final: boolean;
  worker: number;
  counters: Counters;
  latency: RecorderSnapshot;
  handshake: RecorderSnapshot;
  token: RecorderSnapshot;
  ack: RecorderSnapshot;
  /** With several nodes: per node, its viewers' deliveries. */
  nodes?: RecorderSnapshot[];
  connected: number;
  connecting: number;
  /** Flat [sender, seq, sentAt, …]. */
  sends: number[];
  /** Flat [sender, seq, outcome, at, …]. */
  resolutions: number[];
  closed: ConnectionSummary[];
  /** Moderation actions' outcomes: [room, tag, outcome]. */
  moderations: [room: number, tag: string, outcome: number][];
  eventLoopP99Ms: number;
  /** Whole-run event-loop delay p99, in the final report. */
  eventLoopRunP99Ms: number;
}

/** Sent once the worker has loaded; t = 0 is set when every worker has said it. */
export interface WorkerReady {
  type: 'ready';
  worker: number;
}

export type WorkerToMain = WorkerReady | WorkerReport;

/** `start` carries t = 0 (epoch ms); `finish` ends the run early. */
export type MainToWorker = { type: 'start'; startAt: number } | { type: 'finish' };
