import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  RowBuilder,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { datasourceVariable, heatmap, quantiles, stat, timeseries } from './panels.ts';

// The audience side of a load test: what the viewers saw. The Node runner serves chatstorm_load_*
// at /metrics while it runs (names in .tmp/TEAM.md); k6 pushes k6_* by remote write, where a
// custom metric of scenarios/k6/options.ts keeps its k6 name (delivery_latency →
// k6_delivery_latency_p99, messages_sent → k6_messages_sent_total, connect_failed →
// k6_connect_failed_rate) and a trend arrives as one gauge per statistic of
// K6_PROMETHEUS_RW_TREND_STATS (docker-compose.yml asks for p(50), p(95), p(99) and max).

function rate(metric: string, matchers = ''): string {
  return `rate(${metric}${matchers ? `{${matchers}}` : ''}[$__rate_interval])`;
}

export function loadTestDashboard(): Dashboard {
  return (
    new DashboardBuilder('chatstorm · load test')
      .uid('chatstorm-load-test')
      .description('What the simulated audience saw (Node runner chatstorm_load_* and k6 k6_* metrics), beside the server it loaded.')
      .tags(['chatstorm'])
      .time({ from: 'now-30m', to: 'now' })
      .refresh('5s')
      .timezone('browser')
      .tooltip(DashboardCursorSync.Crosshair)
      .link(new DashboardLinkBuilder('chatstorm').type(DashboardLinkType.Dashboards).tags(['chatstorm']).asDropdown(false).keepTime(true))
      .withVariable(datasourceVariable())

      .withRow(new RowBuilder('Overview (Node runner)'))
      .withPanel(stat('Viewers', { unit: 'short', expr: 'sum(chatstorm_load_viewers)' }))
      .withPanel(stat('Deliveries / s', { unit: 'ops', expr: `sum(${rate('chatstorm_load_deliveries_total')})` }))
      .withPanel(
        stat('Delivery p99', {
          unit: 's',
          expr: quantiles('chatstorm_load_delivery_latency_seconds', '', [0.99])[0]!.expr,
          redFrom: 0.25,
        }),
      )
      .withPanel(stat('Missing / s', { unit: 'ops', expr: `sum(${rate('chatstorm_load_deliveries_missing_total')})`, redFrom: 0.001 }))
      .withPanel(stat('Errors / s', { unit: 'ops', expr: `sum(${rate('chatstorm_load_errors_total')})`, redFrom: 0.001 }))
      .withPanel(
        stat('Scenario', {
          unit: 'short',
          description: 'The runner profile being played (the series label; the value is always 1).',
          expr: 'max by (scenario) (chatstorm_load_info)',
          legend: '{{scenario}}',
          showName: true,
        }),
      )

      .withRow(new RowBuilder('Audience'))
      .withPanel(
        timeseries('Viewers vs target', {
          unit: 'short',
          min: 0,
          description: 'Connected viewers against the number the profile wants now: a gap is viewers failing to get in.',
          queries: [
            { expr: 'sum(chatstorm_load_viewers)', legend: 'connected' },
            { expr: 'sum(chatstorm_load_viewers_target)', legend: 'target' },
          ],
        }),
      )
      .withPanel(
        timeseries('Connects / s by outcome', {
          unit: 'ops',
          stacked: true,
          queries: [{ expr: `sum by (outcome) (${rate('chatstorm_load_connects_total')})`, legend: '{{outcome}}' }],
        }),
      )
      .withPanel(
        timeseries('Disconnects / s by reason', {
          unit: 'ops',
          stacked: true,
          description: 'client (the viewer left), server, moderation (DisconnectUser), session_expired, error.',
          queries: [{ expr: `sum by (reason) (${rate('chatstorm_load_disconnects_total')})`, legend: '{{reason}}' }],
        }),
      )
      .withPanel(
        timeseries('Handshake and token time', {
          unit: 's',
          description: 'As the viewers measured them: CreateChatToken call, then the WebSocket opening.',
          queries: [
            ...quantiles('chatstorm_load_handshake_duration_seconds', '', [0.5, 0.99]).map((q) => ({ ...q, legend: `handshake ${q.legend}` })),
            ...quantiles('chatstorm_load_token_duration_seconds', '', [0.5, 0.99]).map((q) => ({ ...q, legend: `token ${q.legend}` })),
          ],
        }),
      )

      .withRow(new RowBuilder('Messages'))
      .withPanel(
        timeseries('Sent, acknowledged and delivered / s', {
          unit: 'ops',
          description: 'Acknowledged: the sender saw its own MESSAGE. Delivered: MESSAGE frames received by all viewers.',
          queries: [
            { expr: `sum(${rate('chatstorm_load_messages_sent_total')})`, legend: 'sent' },
            { expr: `sum(${rate('chatstorm_load_messages_acked_total')})`, legend: 'acked' },
            { expr: `sum(${rate('chatstorm_load_deliveries_total')})`, legend: 'delivered' },
          ],
        }),
      )
      .withPanel(
        timeseries('Deliveries / s: viewers vs server', {
          unit: 'ops',
          description: 'What the viewers counted against what the server says it wrote (MESSAGE frames). They match when nothing is lost in between.',
          queries: [
            { expr: `sum(${rate('chatstorm_load_deliveries_total')})`, legend: 'received by viewers' },
            { expr: `sum(${rate('chatstorm_fanout_deliveries_total', 'type="MESSAGE"')})`, legend: 'written by the server' },
          ],
        }),
      )
      .withPanel(
        timeseries('End-to-end delivery latency', {
          unit: 's',
          description: 'Send to receive, measured by each viewer with the sender timestamp in the message Attributes.',
          queries: quantiles('chatstorm_load_delivery_latency_seconds', '', [0.5, 0.95, 0.99, 0.999]),
        }),
      )
      .withPanel(
        heatmap('End-to-end delivery latency', {
          expr: `sum by (le) (${rate('chatstorm_load_delivery_latency_seconds_bucket')})`,
        }),
      )

      .withRow(new RowBuilder('Integrity and errors'))
      .withPanel(
        timeseries('Missing, duplicated, out of order / s', {
          unit: 'ops',
          description: 'Each viewer connected for the whole window around a send must receive it exactly once, in order per sender.',
          queries: [
            { expr: `sum(${rate('chatstorm_load_deliveries_missing_total')})`, legend: 'missing' },
            { expr: `sum(${rate('chatstorm_load_deliveries_duplicated_total')})`, legend: 'duplicated' },
            { expr: `sum(${rate('chatstorm_load_deliveries_out_of_order_total')})`, legend: 'out of order' },
          ],
        }),
      )
      .withPanel(
        timeseries('Loss ratio', {
          unit: 'percentunit',
          min: 0,
          queries: [
            {
              expr: `sum(${rate('chatstorm_load_deliveries_missing_total')}) / (sum(${rate('chatstorm_load_deliveries_total')}) + sum(${rate('chatstorm_load_deliveries_missing_total')}))`,
              legend: 'missing / expected',
            },
          ],
        }),
      )
      .withPanel(
        timeseries('ERROR frames / s by code', {
          unit: 'ops',
          stacked: true,
          queries: [{ expr: `sum by (code) (${rate('chatstorm_load_errors_total')})`, legend: '{{code}}' }],
        }),
      )
      .withPanel(
        timeseries('Moderation actions / s', {
          unit: 'ops',
          queries: [{ expr: `sum by (action) (${rate('chatstorm_load_moderation_actions_total')})`, legend: '{{action}}' }],
        }),
      )

      .withRow(new RowBuilder('Load generator'))
      .withPanel(
        timeseries('Generator CPU vs server CPU', {
          unit: 'percentunit',
          description: 'Informative: a busy generator may still read every frame in time. Whether it is the bottleneck is the receive backlog beside this.',
          queries: [
            { expr: 'sum(chatstorm_load_generator_cpu_ratio)', legend: 'generator' },
            { expr: `sum(${rate('chatstorm_process_cpu_seconds_total')})`, legend: 'server' },
          ],
        }),
      )
      .withPanel(
        timeseries('Generator receive backlog', {
          unit: 's',
          min: 0,
          description:
            'How far behind the generator reads: bytes waiting unread in its kernel receive queues over the bytes reaching it per second. Above a quarter of the p99 limit the generator, not the server, is the limit.',
          queries: [{ expr: 'max(chatstorm_load_generator_backlog_seconds)', legend: 'slowest runner' }],
        }),
      )

      .withRow(new RowBuilder('k6 (remote write)'))
      .withPanel(
        timeseries('k6 viewers and VUs', {
          unit: 'short',
          min: 0,
          description: 'Each VU holds many viewers and reports its own count (tag vu): their sum is the audience.',
          queries: [
            { expr: 'sum(k6_viewers)', legend: 'viewers connected' },
            { expr: 'sum(k6_vus)', legend: 'VUs' },
          ],
        }),
      )
      .withPanel(
        timeseries('k6 connects and disconnects / s', {
          unit: 'ops',
          queries: [
            { expr: `sum by (outcome) (${rate('k6_connects_total')})`, legend: 'connect {{outcome}}' },
            { expr: `sum by (reason) (${rate('k6_disconnects_total')})`, legend: 'disconnect {{reason}}' },
          ],
        }),
      )
      .withPanel(
        timeseries('k6 messages / s', {
          unit: 'ops',
          queries: [
            { expr: `sum(${rate('k6_messages_sent_total')})`, legend: 'sent' },
            { expr: `sum(${rate('k6_messages_acked_total')})`, legend: 'acked' },
            { expr: `sum(${rate('k6_deliveries_total')})`, legend: 'delivered' },
          ],
        }),
      )
      .withPanel(
        timeseries('k6 missing, duplicated, out of order / s', {
          unit: 'ops',
          queries: [
            { expr: `sum(${rate('k6_deliveries_missing_total')})`, legend: 'missing' },
            { expr: `sum(${rate('k6_deliveries_duplicated_total')})`, legend: 'duplicated' },
            { expr: `sum(${rate('k6_deliveries_out_of_order_total')})`, legend: 'out of order' },
          ],
        }),
      )
      .withPanel(
        timeseries('k6 delivery latency', {
          unit: 's',
          description: 'k6 trends are cumulative over the run, per k6 instance: the highest instance is shown.',
          queries: [
            { expr: 'max(k6_delivery_latency_p50)', legend: 'p50' },
            { expr: 'max(k6_delivery_latency_p95)', legend: 'p95' },
            { expr: 'max(k6_delivery_latency_p99)', legend: 'p99' },
            { expr: 'max(k6_delivery_latency_max)', legend: 'max' },
          ],
        }),
      )
      .withPanel(
        // k6 measuring itself (scenarios/lib/lag-probe.ts): when its lag p99 nears the delivery
        // p99 beside it, the latency is k6's own queue, not the server's.
        timeseries('k6 event-loop lag (generator self-check)', {
          unit: 's',
          queries: [
            { expr: 'max(k6_generator_lag_p50)', legend: 'lag p50' },
            { expr: 'max(k6_generator_lag_p99)', legend: 'lag p99' },
            { expr: 'max(k6_generator_lag_max)', legend: 'lag max' },
          ],
        }),
      )
      .withPanel(
        timeseries('k6 handshake and token time', {
          unit: 's',
          queries: [
            { expr: 'max(k6_handshake_duration_p99)', legend: 'handshake p99' },
            { expr: 'max(k6_token_duration_p99)', legend: 'token p99' },
          ],
        }),
      )
      .withPanel(
        timeseries('k6 ERROR frames / s by code', {
          unit: 'ops',
          queries: [{ expr: `sum by (code) (${rate('k6_errors_total')})`, legend: '{{code}}' }],
        }),
      )
      .withPanel(
        timeseries('k6 failure rates', {
          unit: 'percentunit',
          description: 'Share of connection attempts that failed, of sends answered with ERROR, and of control-plane HTTP requests that failed.',
          queries: [
            { expr: 'avg(k6_connect_failed_rate)', legend: 'connects failed' },
            { expr: 'avg(k6_send_errors_rate)', legend: 'sends answered with ERROR' },
            { expr: 'avg(k6_http_req_failed_rate)', legend: 'HTTP requests failed' },
          ],
        }),
      )
      .withPanel(
        timeseries('k6 WebSocket sessions and frames / s', {
          unit: 'ops',
          queries: [
            { expr: `sum(${rate('k6_ws_sessions_total')})`, legend: 'sessions' },
            { expr: `sum(${rate('k6_ws_msgs_sent_total')})`, legend: 'frames sent' },
            { expr: `sum(${rate('k6_ws_msgs_received_total')})`, legend: 'frames received' },
          ],
        }),
      )
      .withPanel(
        // The scripts' own byte counters, pushed every second: k6's data_sent/data_received are
        // emitted when an iteration ends, and each VU runs one iteration for the whole test.
        timeseries('k6 WebSocket payload / s', {
          unit: 'Bps',
          queries: [
            { expr: `sum(${rate('k6_frame_bytes_received_total')})`, legend: 'received' },
            { expr: `sum(${rate('k6_frame_bytes_sent_total')})`, legend: 'sent' },
          ],
        }),
      )
      .build()
  );
}
