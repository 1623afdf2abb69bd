import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import { evaluateGaps, SEND_ACKED, SEND_LOST, SEND_REJECTED } from '../lib/delivery-ledger.ts';
import type { DeliveryLog, MetricsSink } from '../lib/ports.ts';
import type { ConnectionSummary } from '../lib/receive-tracker.ts';
import type { ConnectOutcome, DisconnectReason, ModerationAction, ModerationVia } from '../lib/results.ts';
import { METRIC } from './options.ts';

// k6 custom metrics, declared once at module scope (k6 requires it in the init context).

const m = {
  viewers: new Gauge(METRIC.viewers),
  viewersTarget: new Gauge(METRIC.viewersTarget),
  peakViewers: new Counter(METRIC.peakViewers),
  connects: new Counter(METRIC.connects),
  connectFailures: new Counter(METRIC.connectFailures),
  connectFailed: new Rate(METRIC.connectFailed),
  disconnects: new Counter(METRIC.disconnects),
  handshake: new Trend(METRIC.handshake, true),
  token: new Trend(METRIC.token, true),
  sent: new Counter(METRIC.sent),
  acked: new Counter(METRIC.acked),
  messageAcked: new Rate(METRIC.messageAcked),
  ackLatency: new Trend(METRIC.ackLatency, true),
  rejected: new Counter(METRIC.rejected),
  unacked: new Counter(METRIC.unacked),
  sendErrors: new Rate(METRIC.sendErrors),
  deliveries: new Counter(METRIC.deliveries),
  expected: new Counter(METRIC.expected),
  missing: new Counter(METRIC.missing),
  duplicated: new Counter(METRIC.duplicated),
  outOfOrder: new Counter(METRIC.outOfOrder),
  latency: new Trend(METRIC.latency, true),
  errors: new Counter(METRIC.errors),
  apiErrors: new Counter(METRIC.apiErrors),
  moderation: new Counter(METRIC.moderation),
  moderationEvents: new Counter(METRIC.moderationEvents),
};

export class K6Metrics implements MetricsSink {
  connected(handshakeMs: number): void {
    m.connects.add(1, { outcome: 'ok' });
    m.connectFailed.add(false);
    m.handshake.add(handshakeMs);
  }
  connectFailed(outcome: Exclude<ConnectOutcome, 'ok'>): void {
    m.connects.add(1, { outcome });
    m.connectFailures.add(1);
    m.connectFailed.add(true);
  }
  tokenIssued(ms: number): void {
    m.token.add(ms);
  }
  disconnected(reason: DisconnectReason): void {
    m.disconnects.add(1, { reason });
  }
  sent(): void {
    m.sent.add(1);
    m.sendErrors.add(false);
  }
  acked(ms: number): void {
    m.acked.add(1);
    m.ackLatency.add(ms);
  }
  delivered(latencyMs: number): void {
    m.deliveries.add(1);
    m.latency.add(latencyMs);
  }
  duplicated(): void {
    m.duplicated.add(1);
  }
  outOfOrder(): void {
    m.outOfOrder.add(1);
  }
  errorFrame(code: number): void {
    m.errors.add(1, { code: String(code) });
    m.sendErrors.add(true);
  }
  apiError(operation: string, status: number): void {
    m.apiErrors.add(1, { operation, status: String(status) });
  }
  moderation(action: ModerationAction, via: ModerationVia): void {
    m.moderation.add(1, { action, via });
  }
  moderationEvent(action: ModerationAction): void {
    m.moderationEvents.add(1, { action });
  }

  /** Per VU: the gauges carry the VU as a tag, so sum(k6_viewers) is the audience. */
  viewers(vu: number, connected: number, target: number): void {
    m.viewers.add(connected, { vu: String(vu) });
    m.viewersTarget.add(target);
  }

  peak(viewers: number): void {
    m.peakViewers.add(viewers);
  }
}

/** A VU sees only its own senders, so each closed connection is judged by its sequence gaps. */
export class K6DeliveryLog implements DeliveryLog {
  sent(): void {}

  resolved(_sender: number, _seq: number, outcome: number): void {
    m.messageAcked.add(outcome === SEND_ACKED);
    if (outcome === SEND_REJECTED) m.rejected.add(1);
    if (outcome === SEND_LOST) m.unacked.add(1);
  }

  closed(summary: ConnectionSummary): void {
    const c = evaluateGaps(summary);
    m.expected.add(c.expected);
    if (c.missing > 0) m.missing.add(c.missing);
  }
}
