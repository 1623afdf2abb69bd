import type { MetricsSink } from '../lib/ports.ts';
import type { ConnectOutcome, DisconnectReason, ModerationAction, ModerationVia } from '../lib/results.ts';
import { newCounters, type Counters } from './counters.ts';
import { LatencyRecorder } from './latency-recorder.ts';

/** The viewer behaviour's metrics, accumulated in a worker until the next report. */
export class WorkerMetrics implements MetricsSink {
  counters: Counters = newCounters();
  readonly latency = new LatencyRecorder();
  readonly handshake = new LatencyRecorder();
  readonly token = new LatencyRecorder();
  readonly ack = new LatencyRecorder();
  readonly nodes: LatencyRecorder[];

  constructor(nodes = 1) {
    this.nodes = nodes > 1 ? Array.from({ length: nodes }, () => new LatencyRecorder()) : [];
  }

  take(): Counters {
    const c = this.counters;
    this.counters = newCounters();
    return c;
  }

  connected(handshakeMs: number): void {
    this.counters.connects.ok++;
    this.handshake.record(handshakeMs);
  }
  connectFailed(outcome: Exclude<ConnectOutcome, 'ok'>): void {
    this.counters.connects[outcome]++;
  }
  tokenIssued(ms: number): void {
    this.token.record(ms);
  }
  disconnected(reason: DisconnectReason): void {
    this.counters.disconnects[reason]++;
  }
  sent(): void {
    this.counters.sent++;
  }
  acked(ms: number): void {
    this.counters.acked++;
    this.ack.record(ms);
  }
  delivered(latencyMs: number): void {
    this.counters.frames++;
    this.latency.record(latencyMs);
  }
  deliveredVia(node: number, latencyMs: number): void {
    this.nodes[node]?.record(latencyMs);
  }
  duplicated(): void {
    this.counters.duplicated++;
  }
  outOfOrder(): void {
    this.counters.outOfOrder++;
  }
  errorFrame(code: number): void {
    const errors = this.counters.errors;
    errors[code] = (errors[code] ?? 0) + 1;
  }
  apiError(operation: string, status: number): void {
    const key = `${operation} ${status}`;
    this.counters.apiErrors[key] = (this.counters.apiErrors[key] ?? 0) + 1;
  }
  moderation(action: ModerationAction, via: ModerationVia): void {
    this.counters.moderation[action][via]++;
  }
  moderationEvent(action: ModerationAction): void {
    this.counters.moderationEvents[action]++;
  }
}
