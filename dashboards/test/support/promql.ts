// The PromQL of the dashboards and alert rules, made evaluable by Prometheus's HTTP API the way
// Grafana and the rule engine would evaluate it.

export interface PanelQuery {
  dashboard: string;
  panel: string;
  refId: string;
  expr: string;
}

interface DashboardJson {
  title: string;
  templating?: { list: { name: string; type: string; includeAll?: boolean; allValue?: string }[] };
  panels: { type: string; title: string; targets?: { refId?: string; expr?: string }[]; panels?: DashboardJson['panels'] }[];
}

export function panelQueries(dashboard: DashboardJson): PanelQuery[] {
  const queries: PanelQuery[] = [];
  const visit = (panels: DashboardJson['panels']) => {
    for (const panel of panels) {
      for (const target of panel.targets ?? []) {
        if (target.expr) queries.push({ dashboard: dashboard.title, panel: panel.title, refId: target.refId ?? '?', expr: target.expr });
      }
      visit(panel.panels ?? []);
    }
  };
  visit(dashboard.panels);
  return queries;
}

/** Template variables as "All" selects them: a multi-value variable with includeAll becomes its allValue. */
export function allValues(dashboard: DashboardJson): Record<string, string> {
  const values: Record<string, string> = {};
  for (const variable of dashboard.templating?.list ?? []) {
    if (variable.type === 'query' && variable.includeAll && variable.allValue) values[variable.name] = variable.allValue;
  }
  return values;
}

/**
 * Grafana's substitutions for a range query at `stepSeconds` against data scraped every
 * `scrapeSeconds`: $__interval is the step, and $__rate_interval is max($__interval + scrape
 * interval, 4 × scrape interval), Grafana's own rule. Throws on a variable it does not know.
 */
export function expandGrafanaVariables(
  expr: string,
  options: { stepSeconds: number; scrapeSeconds: number; variables: Record<string, string> },
): string {
  const rateInterval = Math.max(options.stepSeconds + options.scrapeSeconds, 4 * options.scrapeSeconds);
  const builtins: Record<string, string> = {
    __rate_interval: `${rateInterval}s`,
    __interval: `${options.stepSeconds}s`,
    __interval_ms: String(options.stepSeconds * 1000),
  };
  return expr.replace(/\$\{?(\w+)\}?/g, (match, name: string) => {
    const value = builtins[name] ?? options.variables[name];
    if (value === undefined) throw new Error(`unknown Grafana variable ${match} in: ${expr}`);
    return value;
  });
}

/**
 * An alert expression ends in a filter (`… > 0.25`) that returns nothing while the alert is
 * quiet, which is most of the time. With `bool` every comparison returns 0 or 1 for every series
 * instead, so "the expression returns data" checks that its metrics exist, not that it fires.
 * Operators inside {label matchers} and strings are left alone.
 */
export function boolifyComparisons(expr: string): string {
  let out = '';
  let braces = 0;
  let quote: string | undefined;
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i]!;
    if (quote) {
      out += c;
      if (c === '\\') out += expr[++i] ?? '';
      else if (c === quote) quote = undefined;
      continue;
    }
    if (c === '"' || c === "'" || c === '`') quote = c;
    else if (c === '{') braces++;
    else if (c === '}') braces--;
    if (braces === 0 && (c === '>' || c === '<' || c === '=' || c === '!')) {
      const two = expr.slice(i, i + 2);
      const op = ['==', '!=', '>=', '<='].includes(two) ? two : c === '>' || c === '<' ? c : undefined;
      if (op) {
        out += op;
        i += op.length - 1;
        if (!/^\s*bool\b/.test(expr.slice(i + 1))) out += ' bool';
        continue;
      }
    }
    out += c;
  }
  return out;
}
