import http from 'node:http';
import { Counter, Gauge, Registry } from 'prom-client';
import { CONNECT_OUTCOMES, DISCONNECT_REASONS, MODERATION_ACTIONS } from '../lib/results.ts';
import type { Counters } from './counters.ts';
import { BUCKETS_SECONDS, type RecorderSnapshot } from './latency-recorder.ts';

// The runner's own /metrics. Names and labels are a contract with dashboards/ (see TEAM.md):
// chatstorm_load_* only, no per-viewer or per-message labels.

/**
 * A Prometheus histogram fed with bucket counts the workers already computed: prom-client's
 * Histogram only takes single observations, and replaying hundreds of thousands of latencies a
 * second through it would cost more than measuring them.
 */
class BucketHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly counts = new Float64Array(BUCKETS_SECONDS.length + 1);
  private sum = 0;
  private count = 0;

  constructor(
    readonly name: string,
    readonly help: string,
  ) {}

  add(s: RecorderSnapshot): void {
    for (let b = 0; b < s.buckets.length; b++) this.counts[b]! += s.buckets[b]!;
    this.sum += s.sumSeconds;
    this.count += s.count;
  }

  get() {
    let cumulative = 0;
    const values: { labels: Record<string, string | number>; value: number; metricName: string }[] = [];
    BUCKETS_SECONDS.forEach((le, b) => {
      cumulative += this.counts[b]!;
      values.push({ labels: { le }, value: cumulative, metricName: `${this.name}_bucket` });
    });
    values.push({ labels: { le: '+Inf' }, value: this.count, metricName: `${this.name}_bucket` });
    values.push({ labels: {}, value: this.sum, metricName: `${this.name}_sum` });
    values.push({ labels: {}, value: this.count, metricName: `${this.name}_count` });
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }
}

/** The ErrorCodes the IVS Chat messaging API defines (ivs-chat-protocol.md §2). */
const PROTOCOL_ERROR_CODES = [400, 401, 403, 404, 406, 413, 429, 500] as const;

export class LoadMetrics {
  readonly registry = new Registry();
  readonly viewers: Gauge;
  readonly viewersTarget: Gauge;
  private readonly connects: Counter;
  private readonly disconnects: Counter;
  private readonly sent: Counter;
  private readonly acked: Counter;
  private readonly deliveries: Counter;
  private readonly missing: Counter;
  private readonly duplicated: Counter;
  private readonly outOfOrder: Counter;
  private readonly errors: Counter;
  private readonly moderation: Counter;
  readonly generatorCpu: Gauge;
  readonly generatorBacklog: Gauge;
  readonly handshake = new BucketHistogram('chatstorm_load_handshake_duration_seconds', 'WebSocket handshake time, from connect to open.');
  readonly token = new BucketHistogram('chatstorm_load_token_duration_seconds', 'CreateChatToken call time.');
  readonly latency = new BucketHistogram('chatstorm_load_delivery_latency_seconds', 'End-to-end delivery latency, send to receive.');
  private server: http.Server | undefined;

  constructor(scenario: string) {
    const registers = [this.registry];
    this.viewers = new Gauge({ name: 'chatstorm_load_viewers', help: 'Viewers connected now.', registers });
    this.viewersTarget = new Gauge({ name: 'chatstorm_load_viewers_target', help: 'Viewers the profile wants now.', registers });
    this.connects = new Counter({ name: 'chatstorm_load_connects_total', help: 'Connection attempts by outcome.', labelNames: ['outcome'], registers });
    this.disconnects = new Counter({ name: 'chatstorm_load_disconnects_total', help: 'Disconnects by reason.', labelNames: ['reason'], registers });
    this.sent = new Counter({ name: 'chatstorm_load_messages_sent_total', help: 'SEND_MESSAGE requests sent.', registers });
    this.acked = new Counter({ name: 'chatstorm_load_messages_acked_total', help: 'Sends whose sender saw its own MESSAGE.', registers });
    this.deliveries = new Counter({ name: 'chatstorm_load_deliveries_total', help: 'MESSAGE frames received by viewers.', registers });
    this.missing = new Counter({ name: 'chatstorm_load_deliveries_missing_total', help: 'Expected deliveries that never arrived.', registers });
    this.duplicated = new Counter({ name: 'chatstorm_load_deliveries_duplicated_total', help: 'Deliveries received more than once.', registers });
    this.outOfOrder = new Counter({ name: 'chatstorm_load_deliveries_out_of_order_total', help: 'Deliveries that arrived after a later message of the same sender.', registers });
    this.errors = new Counter({ name: 'chatstorm_load_errors_total', help: 'ERROR frames by ErrorCode.', labelNames: ['code'], registers });
    this.moderation = new Counter({ name: 'chatstorm_load_moderation_actions_total', help: 'Moderation actions sent.', labelNames: ['action'], registers });
    this.generatorCpu = new Gauge({ name: 'chatstorm_load_generator_cpu_ratio', help: 'Generator CPU seconds per second (1 = one core busy).', registers });
    this.generatorBacklog = new Gauge({
      name: 'chatstorm_load_generator_backlog_seconds',
      help: 'How far behind the generator reads: bytes unread in its kernel receive queues over the bytes reaching it per second (NaN: unknown).',
      registers,
    });
    this.generatorBacklog.set(NaN);
    const info = new Gauge({ name: 'chatstorm_load_info', help: 'The scenario being run.', labelNames: ['scenario'], registers });
    info.labels(scenario).set(1);
    for (const h of [this.handshake, this.token, this.latency]) this.registry.registerMetric(h as never);
    // Zeroed series exist from the start, so rate() works from the first scrape.
    for (const o of CONNECT_OUTCOMES) this.connects.labels(o).inc(0);
    for (const r of DISCONNECT_REASONS) this.disconnects.labels(r).inc(0);
    for (const a of MODERATION_ACTIONS) this.moderation.labels(a).inc(0);
    for (const code of PROTOCOL_ERROR_CODES) this.errors.labels(String(code)).inc(0);
  }

  add(c: Counters): void {
    for (const o of CONNECT_OUTCOMES) if (c.connects[o]) this.connects.labels(o).inc(c.connects[o]);
    for (const r of DISCONNECT_REASONS) if (c.disconnects[r]) this.disconnects.labels(r).inc(c.disconnects[r]);
    if (c.sent) this.sent.inc(c.sent);
    if (c.acked) this.acked.inc(c.acked);
    if (c.frames) this.deliveries.inc(c.frames);
    if (c.duplicated) this.duplicated.inc(c.duplicated);
    if (c.outOfOrder) this.outOfOrder.inc(c.outOfOrder);
    for (const [code, n] of Object.entries(c.errors)) this.errors.labels(code).inc(n);
    for (const a of MODERATION_ACTIONS) {
      const n = c.moderation[a].websocket + c.moderation[a].http;
      if (n) this.moderation.labels(a).inc(n);
    }
  }

  addMissing(n: number): void {
    if (n > 0) this.missing.inc(n);
  }

  async listen(port: number): Promise<string> {
    this.server = http.createServer((req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      this.registry.metrics().then(
        (text) => res.writeHead(200, { 'content-type': this.registry.contentType }).end(text),
        (error: Error) => res.writeHead(500).end(error.message),
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, '127.0.0.1', resolve);
    });
    const address = this.server.address() as { port: number };
    return `http://127.0.0.1:${address.port}/metrics`;
  }

  async close(): Promise<void> {
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
  }
}
