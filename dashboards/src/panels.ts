import * as common from '@grafana/grafana-foundation-sdk/common';
import {
  DatasourceVariableBuilder,
  MappingType,
  ThresholdsConfigBuilder,
  ThresholdsMode,
  type DataSourceRef,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { PanelBuilder as HeatmapPanelBuilder, HeatmapColorOptionsBuilder, HeatmapColorMode, HeatmapColorScale, YAxisConfigBuilder } from '@grafana/grafana-foundation-sdk/heatmap';
import { DataqueryBuilder, PromQueryFormat } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanelBuilder } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanelBuilder } from '@grafana/grafana-foundation-sdk/timeseries';

// The few panel shapes both dashboards use, so that every panel reads as "title, unit, PromQL" and
// the look (legend, tooltip, data source) is decided once.

/** The data source uid that dashboards/grafana/provisioning gives Prometheus. */
export const PROMETHEUS_UID = 'chatstorm-prometheus';

/** Panels point at the $datasource variable so the JSON also works when imported into another Grafana. */
export const DATASOURCE: DataSourceRef = { type: 'prometheus', uid: '${datasource}' };

export function datasourceVariable(): DatasourceVariableBuilder {
  return new DatasourceVariableBuilder('datasource')
    .label('Data source')
    .type('prometheus')
    .current({ text: 'Prometheus', value: PROMETHEUS_UID });
}

export interface Query {
  expr: string;
  /** Grafana legend template, e.g. '{{reason}}'. */
  legend?: string;
}

function targets(queries: readonly Query[]): DataqueryBuilder[] {
  return queries.map((query, index) => {
    const target = new DataqueryBuilder()
      .datasource(DATASOURCE)
      .expr(query.expr)
      .refId(String.fromCharCode(65 + index))
      .range();
    return query.legend === undefined ? target : target.legendFormat(query.legend);
  });
}

export interface TimeseriesOptions {
  description?: string;
  /** Grafana unit id: 's', 'bytes', 'ops', 'percentunit', 'short', … */
  unit: string;
  queries: readonly Query[];
  stacked?: boolean;
  min?: number;
  width?: number;
}

export function timeseries(title: string, options: TimeseriesOptions): TimeseriesPanelBuilder {
  const panel = new TimeseriesPanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(options.unit)
    .span(options.width ?? 12)
    .height(8)
    .fillOpacity(options.stacked ? 30 : 10)
    .lineWidth(1)
    .showPoints(common.VisibilityMode.Never)
    .legend(
      new common.VizLegendOptionsBuilder()
        .showLegend(true)
        .displayMode(common.LegendDisplayMode.List)
        .placement(common.LegendPlacement.Bottom),
    )
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending))
    .targets(targets(options.queries));
  if (options.description) panel.description(options.description);
  if (options.min !== undefined) panel.min(options.min);
  if (options.stacked) panel.stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));
  return panel;
}

export interface HeatmapOptions {
  description?: string;
  /** A `sum by (le) (rate(<histogram>_bucket[…]))` expression: Grafana draws one row per bucket. */
  expr: string;
  width?: number;
}

/** A heatmap of a Prometheus histogram's buckets, in seconds. */
export function heatmap(title: string, options: HeatmapOptions): HeatmapPanelBuilder {
  const panel = new HeatmapPanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .span(options.width ?? 12)
    .height(8)
    // The buckets are already counted by Prometheus: Grafana must not re-bucket them.
    .calculate(false)
    .color(
      new HeatmapColorOptionsBuilder()
        .mode(HeatmapColorMode.Scheme)
        .scheme('Spectral')
        .scale(HeatmapColorScale.Exponential)
        .exponent(0.5)
        .steps(64),
    )
    .yAxis(new YAxisConfigBuilder().unit('s'))
    .targets(
      targets([{ expr: options.expr, legend: '{{le}}' }]).map((target) => target.format(PromQueryFormat.Heatmap)),
    );
  if (options.description) panel.description(options.description);
  return panel;
}

export interface StatOptions {
  description?: string;
  unit: string;
  expr: string;
  legend?: string;
  /** Value from which the stat turns red (green below). */
  redFrom?: number;
  /** Display text for exact values, e.g. { 0: 'native' }. */
  valueText?: Record<number, string>;
  /** Show the series name (its legend) instead of the value: for info metrics whose value is always 1. */
  showName?: boolean;
  width?: number;
}

export function stat(title: string, options: StatOptions): StatPanelBuilder {
  const panel = new StatPanelBuilder()
    .title(title)
    .datasource(DATASOURCE)
    .unit(options.unit)
    .span(options.width ?? 4)
    .height(4)
    .graphMode(common.BigValueGraphMode.Area)
    .colorMode(common.BigValueColorMode.Value)
    .reduceOptions(new common.ReduceDataOptionsBuilder().calcs(['lastNotNull']).values(false))
    .targets(targets([{ expr: options.expr, ...(options.legend === undefined ? {} : { legend: options.legend }) }]));
  if (options.description) panel.description(options.description);
  if (options.showName) panel.textMode(common.BigValueTextMode.Name).graphMode(common.BigValueGraphMode.None);
  if (options.valueText) {
    const texts = Object.entries(options.valueText).map(([value, text], index) => [value, { text, index }] as const);
    panel.mappings([{ type: MappingType.ValueToText, options: Object.fromEntries(texts) }]);
  }
  const steps = [{ value: null, color: 'green' }];
  if (options.redFrom !== undefined) steps.push({ value: options.redFrom as never, color: 'red' });
  panel.thresholds(new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps));
  return panel;
}

/** `histogram_quantile` over a histogram's rate, one series per quantile: the "p50 / p99 / p99.9" panels. */
export function quantiles(histogram: string, selector: string, qs: readonly number[] = [0.5, 0.99, 0.999]): Query[] {
  return qs.map((q) => ({
    expr: `histogram_quantile(${q}, sum by (le) (rate(${histogram}_bucket${selector}[$__rate_interval])))`,
    legend: `p${String(q * 100).replace(/\.0$/, '')}`,
  }));
}
