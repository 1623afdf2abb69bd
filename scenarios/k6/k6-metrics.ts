import { Counter, Gauge, Rate, Trend } from 'k6/metrics';
import { evaluateGaps, SEND_ACKED, SEND_LOST, SEND_REJECTED } from '../lib/delivery-ledger.ts';
import type { LagSink } from '../lib/lag-probe.ts';
import type { DeliveryLog, MetricsSink } from '../lib/ports.ts';
import type { ConnectionSummary } from '../lib/receive-tracker.ts';
import {
  CONNECT_OUTCOMES,
  DISCONNECT_REASONS,
  MODERATION_ACTIONS,
  type ConnectOutcome,
  type DisconnectReason,
  type ModerationAction,
  type ModerationVia,
} from '../lib/results.ts';
import { METRIC, PROTOCOL_ERROR_CODES } from './options.ts';

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
  connectRefused: new Rate(METRIC.connectRefused),
  generatorLag: new Trend(METRIC.generatorLag, true),
  receiveBacklog: new Trend(METRIC.receiveBacklog),
  boundVus: new Counter(METRIC.boundVus),
  bytesReceived: new Counter(METRIC.bytesReceived),
  bytesSent: new Counter(METRIC.bytesSent),
};

// The room tag lets Grafana split the k6 row by room; one tag object per room, built once (an
// object literal per sample would be garbage on the hot path).
const roomTags: { room: string }[] = [];
function roomTag(room: number): { room: string } {
  return roomTags[room] ?? (roomTags[room] = { room: String(room) });
}

export class K6Metrics implements MetricsSink, LagSink {
  /**
   * Every label value of a closed set, at 0, every second: a k6 counter nobody added to is never
   * pushed, remote write sends only the series that got a sample since its last push, and rate()
   * needs two points; without this a dashboard query over a quiet counter shows "no data", not 0.
   */
  zero(rooms: number): void {
    for (const outcome of CONNECT_OUTCOMES) m.connects.add(0, { outcome });
    for (const reason of DISCONNECT_REASONS) m.disconnects.add(0, { reason });
    for (const code of PROTOCOL_ERROR_CODES) m.errors.add(0, { code: String(code) });
    for (const action of MODERATION_ACTIONS) {
      for (const via of ['websocket', 'http']) m.moderation.add(0, { action, via });
      m.moderationEvents.add(0, { action });
    }
    for (let room = 0; room < rooms; room++) {
      for (const counter of [m.sent, m.deliveries, m.expected, m.missing]) counter.add(0, roomTag(room));
    }
    for (const counter of [m.acked, m.duplicated, m.outOfOrder, m.rejected, m.unacked, m.apiErrors, m.connectFailures, m.boundVus]) counter.add(0);
  }

  connected(handshakeMs: number): void {
    m.connects.add(1, { outcome: 'ok' });
    m.connectFailed.add(false);
    m.connectRefused.add(false);
    m.handshake.add(handshakeMs);
  }
  connectFailed(outcome: Exclude<ConnectOutcome, 'ok'>): void {
    m.connects.add(1, { outcome });
    m.connectFailures.add(1);
    m.connectFailed.add(true);
    m.connectRefused.add(outcome === 'refused');
  }
  tokenIssued(ms: number): void {
    m.token.add(ms);
  }
  disconnected(reason: DisconnectReason): void {
    m.disconnects.add(1, { reason });
  }
  sent(room: number): void {
    m.sent.add(1, roomTag(room));
    m.sendErrors.add(false);
  }
  acked(ms: number): void {
    m.acked.add(1);
    m.ackLatency.add(ms);
  }
  delivered(latencyMs: number, room: number): void {
    const tags = roomTag(room);
    m.deliveries.add(1, tags);
    m.latency.add(latencyMs, tags);
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

  lag(ms: number): void {
    m.generatorLag.add(ms);
  }
  backlog(frames: number): void {
    m.receiveBacklog.add(frames);
  }
  /** Once a second: the transport's byte tallies (a metric call per frame would cost the hot path). */
  bytes(received: number, sent: number): void {
    m.bytesReceived.add(received);
    m.bytesSent.add(sent);
  }

  /** This VU's own lag p99 was over the bound. */
  generatorBound(): void {
    m.boundVus.add(1);
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
    const tags = roomTag(summary.room);
    m.expected.add(c.expected, tags);
    if (c.missing > 0) m.missing.add(c.missing, tags);
  }
}
