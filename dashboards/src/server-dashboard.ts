import {
  DashboardBuilder,
  DashboardCursorSync,
  DashboardLinkBuilder,
  DashboardLinkType,
  QueryVariableBuilder,
  RowBuilder,
  VariableRefresh,
  VariableSort,
  type Dashboard,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DISCONNECT_REASON_LABELS } from '../../server/src/messaging/disconnect-reasons.ts';
import { DATASOURCE, datasourceVariable, heatmap, quantiles, stat, timeseries } from './panels.ts';

// The chat service seen from its own /metrics (server/src/metrics.ts): what it holds, what it
// delivers, how fast, what it refuses, and what that costs in CPU and memory.

/**
 * Every server query is narrowed to the chosen instances and nodes; `extra` adds label matchers.
 * `node` is the --node-id label (workers, cluster nodes); a lone node has none, which the "All"
 * value `.*` still matches.
 */
function sel(extra = ''): string {
  return `{instance=~"$instance",node=~"$node"${extra ? `,${extra}` : ''}}`;
}

function rate(metric: string, extra = ''): string {
  return `rate(${metric}${sel(extra)}[$__rate_interval])`;
}

export function serverDashboard(): Dashboard {
  return (
    new DashboardBuilder('chatstorm · server')
      .uid('chatstorm-server')
      .description('The chatstorm chat service: connections, fan-out, latency, errors, backpressure and cost, from its /metrics.')
      .tags(['chatstorm'])
      .time({ from: 'now-30m', to: 'now' })
      .refresh('10s')
      .timezone('browser')
      .tooltip(DashboardCursorSync.Crosshair)
      .link(new DashboardLinkBuilder('chatstorm').type(DashboardLinkType.Dashboards).tags(['chatstorm']).asDropdown(false).keepTime(true))
      .withVariable(datasourceVariable())
      .withVariable(
        new QueryVariableBuilder('instance')
          .label('Instance')
          .datasource(DATASOURCE)
          .query('label_values(chatstorm_build_info, instance)')
          .definition('label_values(chatstorm_build_info, instance)')
          .refresh(VariableRefresh.OnTimeRangeChanged)
          .sort(VariableSort.AlphabeticalAsc)
          .multi(true)
          .includeAll(true)
          .allValue('.+')
          .current({ text: 'All', value: '$__all' }),
      )
      .withVariable(
        new QueryVariableBuilder('node')
          .label('Node')
          .description('The --node-id of each chatstorm process: one per --workers worker or cluster node.')
          .datasource(DATASOURCE)
          .query('label_values(chatstorm_build_info{instance=~"$instance"}, node)')
          .definition('label_values(chatstorm_build_info{instance=~"$instance"}, node)')
          .refresh(VariableRefresh.OnTimeRangeChanged)
          .sort(VariableSort.AlphabeticalAsc)
          .multi(true)
          .includeAll(true)
          .allValue('.*')
          .current({ text: 'All', value: '$__all' }),
      )

      .withRow(new RowBuilder('Overview'))
      .withPanel(stat('Connections', { unit: 'short', expr: `sum(chatstorm_connections${sel()})` }))
      .withPanel(stat('Deliveries / s', { unit: 'ops', expr: `sum(${rate('chatstorm_fanout_deliveries_total')})` }))
      .withPanel(stat('Messages / s', { unit: 'ops', expr: `sum(${rate('chatstorm_fanout_publishes_total', 'type="MESSAGE"')})` }))
      .withPanel(stat('Active rooms', { unit: 'short', expr: `sum(chatstorm_rooms_active${sel()})` }))
      .withPanel(
        stat('Publish p99', {
          unit: 's',
          description: 'Time one publish takes to write a frame into every subscriber socket of a room.',
          expr: quantiles('chatstorm_fanout_publish_duration_seconds', sel(), [0.99])[0]!.expr,
          redFrom: 0.05,
        }),
      )
      .withPanel(
        stat('uWebSockets.js build', {
          unit: 'short',
          description: 'The pure-JS fallback is far slower than the native build: every throughput figure taken on it is meaningless.',
          expr: `max(chatstorm_uws_fallback${sel()})`,
          redFrom: 1,
          valueText: { 0: 'native', 1: 'pure-JS fallback' },
        }),
      )

      .withRow(new RowBuilder('Connections'))
      .withPanel(
        timeseries('Open connections', {
          unit: 'short',
          min: 0,
          queries: [
            { expr: `sum by (instance) (chatstorm_connections${sel()})`, legend: '{{instance}}' },
          ],
        }),
      )
      .withPanel(
        timeseries('Connections opened and closed / s', {
          unit: 'ops',
          description: `Closed by reason (the README's close-code table says what each means): ${DISCONNECT_REASON_LABELS.join(', ')}.`,
          queries: [
            { expr: `sum(${rate('chatstorm_connections_opened_total')})`, legend: 'opened' },
            { expr: `sum by (reason) (${rate('chatstorm_connections_closed_total')})`, legend: 'closed: {{reason}}' },
          ],
        }),
      )
      .withPanel(
        timeseries('Handshakes / s by outcome', {
          unit: 'ops',
          stacked: true,
          queries: [{ expr: `sum by (outcome) (${rate('chatstorm_handshakes_total')})`, legend: '{{outcome}}' }],
        }),
      )
      .withPanel(
        timeseries('Handshake duration', {
          unit: 's',
          description: 'From the upgrade request to accept or refusal (token check, room lookup, single-use claim).',
          queries: quantiles('chatstorm_handshake_duration_seconds', sel(), [0.5, 0.99]),
        }),
      )
      .withPanel(
        timeseries('Chat tokens / s', {
          unit: 'ops',
          description: 'Minted by CreateChatToken, used at a handshake, rejected at a handshake by reason.',
          queries: [
            { expr: `sum(${rate('chatstorm_tokens_created_total')})`, legend: 'created' },
            { expr: `sum(${rate('chatstorm_tokens_used_total')})`, legend: 'used' },
            { expr: `sum by (reason) (${rate('chatstorm_tokens_rejected_total')})`, legend: 'rejected: {{reason}}' },
          ],
        }),
      )
      .withPanel(
        timeseries('Rooms', {
          unit: 'short',
          min: 0,
          queries: [
            { expr: `max(chatstorm_rooms${sel()})`, legend: 'in the store' },
            { expr: `sum(chatstorm_rooms_active${sel()})`, legend: 'with connections' },
          ],
        }),
      )

      .withRow(new RowBuilder('Fan-out'))
      .withPanel(
        timeseries('Deliveries / s', {
          unit: 'ops',
          description: 'Frames handed to subscriber sockets: publishes times the room audience.',
          queries: [{ expr: `sum by (type) (${rate('chatstorm_fanout_deliveries_total')})`, legend: '{{type}}' }],
        }),
      )
      .withPanel(
        timeseries('Deliveries / s by node', {
          unit: 'ops',
          description: 'How evenly the load balancer (or SO_REUSEPORT, under --workers) spreads the audience over the nodes.',
          stacked: true,
          queries: [{ expr: `sum by (node) (${rate('chatstorm_fanout_deliveries_total')})`, legend: '{{node}}' }],
        }),
      )
      .withPanel(
        timeseries('Publishes / s', {
          unit: 'ops',
          description: 'One per MESSAGE or EVENT, whatever the audience.',
          queries: [{ expr: `sum by (type) (${rate('chatstorm_fanout_publishes_total')})`, legend: '{{type}}' }],
        }),
      )
      .withPanel(
        timeseries('Delivered bytes / s', {
          unit: 'Bps',
          queries: [{ expr: `sum by (type) (${rate('chatstorm_fanout_delivered_bytes_total')})`, legend: '{{type}}' }],
        }),
      )
      .withPanel(
        timeseries('Audience per publish', {
          unit: 'short',
          description: 'Deliveries divided by publishes: the average number of sockets one frame reached.',
          queries: [
            {
              expr: `sum(${rate('chatstorm_fanout_deliveries_total')}) / sum(${rate('chatstorm_fanout_publishes_total')})`,
              legend: 'recipients per publish',
            },
          ],
        }),
      )
      .withPanel(
        heatmap('Publish duration', {
          description: 'Time one publish takes to write into every subscriber socket of the room (uWS, native).',
          expr: `sum by (le) (${rate('chatstorm_fanout_publish_duration_seconds_bucket')})`,
        }),
      )
      .withPanel(
        timeseries('Publish and message processing latency', {
          unit: 's',
          description: 'Publish: writing one frame to every socket. Processing: SEND_MESSAGE arrival to its MESSAGE published (review included).',
          queries: [
            ...quantiles('chatstorm_fanout_publish_duration_seconds', sel()).map((q) => ({ ...q, legend: `publish ${q.legend}` })),
            ...quantiles('chatstorm_message_processing_duration_seconds', sel()).map((q) => ({ ...q, legend: `processing ${q.legend}` })),
          ],
        }),
      )
      .withPanel(
        heatmap('Message processing duration', {
          description: 'From a SEND_MESSAGE frame arriving to its MESSAGE being published, review included.',
          expr: `sum by (le) (${rate('chatstorm_message_processing_duration_seconds_bucket')})`,
        }),
      )

      .withRow(new RowBuilder('Requests and errors'))
      .withPanel(
        timeseries('WebSocket requests / s', {
          unit: 'ops',
          queries: [{ expr: `sum by (action, outcome) (${rate('chatstorm_requests_total')})`, legend: '{{action}} {{outcome}}' }],
        }),
      )
      .withPanel(
        timeseries('ERROR frames / s by code', {
          unit: 'ops',
          stacked: true,
          description: '400 bad request, 401 session expired, 403 capability, 404 not found, 406 review denied, 413 too large, 429 rate limit, 500 internal.',
          queries: [{ expr: `sum by (code) (${rate('chatstorm_error_frames_total')})`, legend: '{{code}}' }],
        }),
      )
      .withPanel(
        timeseries('Rate-limited / s', {
          unit: 'ops',
          description: 'Refused by the room message rate, the DeleteMessage rate or a control-plane API quota.',
          queries: [{ expr: `sum by (limit) (${rate('chatstorm_rate_limited_total')})`, legend: '{{limit}}' }],
        }),
      )
      .withPanel(
        timeseries('Message review outcomes / s', {
          unit: 'ops',
          description: 'allow / deny from the review handler; fallback_* when it failed or timed out and the room fallbackResult applied.',
          queries: [{ expr: `sum by (outcome) (${rate('chatstorm_review_results_total')})`, legend: '{{outcome}}' }],
        }),
      )
      .withPanel(
        timeseries('Message review duration', {
          unit: 's',
          queries: quantiles('chatstorm_review_duration_seconds', sel(), [0.5, 0.99]),
        }),
      )
      .withPanel(
        timeseries('Control-plane requests / s', {
          unit: 'ops',
          queries: [{ expr: `sum by (operation, status) (${rate('chatstorm_api_requests_total')})`, legend: '{{operation}} {{status}}' }],
        }),
      )
      .withPanel(
        timeseries('Control-plane p99 by operation', {
          unit: 's',
          queries: [
            {
              expr: `histogram_quantile(0.99, sum by (le, operation) (${rate('chatstorm_api_request_duration_seconds_bucket')}))`,
              legend: '{{operation}}',
            },
          ],
        }),
      )

      .withRow(new RowBuilder('Backpressure'))
      .withPanel(
        timeseries('Buffered bytes', {
          unit: 'bytes',
          min: 0,
          description: 'Bytes waiting in socket send buffers across all connections, sampled once a second.',
          queries: [{ expr: `sum by (instance) (chatstorm_backpressure_buffered_bytes${sel()})`, legend: '{{instance}}' }],
        }),
      )
      .withPanel(
        timeseries('Slow consumers', {
          unit: 'short',
          description: 'Congested: connections holding half of --max-backpressure-bytes or more at the last sample. Cut: receivers closed at the limit, per second.',
          queries: [
            { expr: `sum(chatstorm_backpressure_congested_connections${sel()})`, legend: 'congested now' },
            { expr: `sum by (action) (${rate('chatstorm_slow_consumers_total')})`, legend: '{{action}} / s' },
          ],
        }),
      )

      .withRow(new RowBuilder('Bus between nodes (--redis-url)'))
      .withPanel(
        timeseries('Bus messages', {
          unit: 'short',
          description: 'Frames and control events each node published to the other nodes and received from them, per second; failed: publishes Redis did not take (applied on that node only, answered 500).',
          queries: [
            { expr: `sum by (type) (${rate('chatstorm_bus_published_total')})`, legend: 'published {{type}} / s' },
            { expr: `sum by (type) (${rate('chatstorm_bus_received_total')})`, legend: 'received {{type}} / s' },
            { expr: `sum by (type) (${rate('chatstorm_bus_failed_total')})`, legend: 'failed {{type}} / s' },
          ],
        }),
      )
      .withPanel(
        timeseries('Nodes on the bus', {
          unit: 'short',
          min: 0,
          description: 'Nodes connected to Redis (chatstorm_bus_connected); a node without --redis-url counts 0.',
          queries: [{ expr: `sum(chatstorm_bus_connected${sel()})`, legend: 'connected' }],
        }),
      )

      .withRow(new RowBuilder('Cost'))
      .withPanel(
        timeseries('CPU', {
          unit: 'percentunit',
          description: 'CPU seconds per second: 100 % is one core busy. uWS does its I/O on the same thread.',
          queries: [{ expr: `sum by (instance) (${rate('chatstorm_process_cpu_seconds_total')})`, legend: '{{instance}}' }],
        }),
      )
      .withPanel(
        timeseries('Memory', {
          unit: 'bytes',
          queries: [
            { expr: `sum by (instance) (chatstorm_process_resident_memory_bytes${sel()})`, legend: 'RSS {{instance}}' },
            { expr: `sum by (instance) (chatstorm_nodejs_heap_size_used_bytes${sel()})`, legend: 'JS heap {{instance}}' },
          ],
        }),
      )
      .withPanel(
        timeseries('Memory per connection', {
          unit: 'bytes',
          description: 'RSS divided by open connections: what one more viewer costs (meaningful once thousands are connected).',
          queries: [
            {
              expr: `sum by (instance) (chatstorm_process_resident_memory_bytes${sel()}) / clamp_min(sum by (instance) (chatstorm_connections${sel()}), 1)`,
              legend: '{{instance}}',
            },
          ],
        }),
      )
      .withPanel(
        timeseries('CPU per connection and per delivery', {
          unit: 's',
          description: 'CPU seconds per second divided by open connections, and CPU seconds per delivered frame.',
          queries: [
            {
              expr: `sum by (instance) (${rate('chatstorm_process_cpu_seconds_total')}) / clamp_min(sum by (instance) (chatstorm_connections${sel()}), 1)`,
              legend: 'per connection {{instance}}',
            },
            {
              expr: `sum by (instance) (${rate('chatstorm_process_cpu_seconds_total')}) / sum by (instance) (${rate('chatstorm_fanout_deliveries_total')})`,
              legend: 'per delivery {{instance}}',
            },
          ],
        }),
      )
      .withPanel(
        timeseries('Event-loop delay', {
          unit: 's',
          description: 'How late timers fire: a busy event loop delays every socket on the node.',
          queries: [
            { expr: `max(chatstorm_nodejs_eventloop_lag_p50_seconds${sel()})`, legend: 'p50' },
            { expr: `max(chatstorm_nodejs_eventloop_lag_p99_seconds${sel()})`, legend: 'p99' },
            { expr: `max(chatstorm_nodejs_eventloop_lag_max_seconds${sel()})`, legend: 'max' },
          ],
        }),
      )
      .withPanel(
        timeseries('Garbage collection time / s', {
          unit: 'percentunit',
          queries: [{ expr: `sum by (kind) (${rate('chatstorm_nodejs_gc_duration_seconds_sum')})`, legend: '{{kind}}' }],
        }),
      )
      .build()
  );
}
