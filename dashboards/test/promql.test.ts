import assert from 'node:assert/strict';
import { test } from 'node:test';
import { boolifyComparisons, expandGrafanaVariables } from './support/promql.ts';

// The end-to-end test rewrites queries before sending them to Prometheus; a rewrite that changed
// what a query selects would make "returns data" prove nothing, so the rewrites are pinned here.

test('boolifyComparisons turns every comparison into its bool form and leaves label matchers alone', () => {
  assert.equal(boolifyComparisons('up{job="chatstorm"} == 0'), 'up{job="chatstorm"} == bool 0');
  assert.equal(
    boolifyComparisons('sum(rate(x{code!~"401|429",a!="b"}[5m])) / sum(rate(y[5m]))\n> 0.01'),
    'sum(rate(x{code!~"401|429",a!="b"}[5m])) / sum(rate(y[5m]))\n> bool 0.01',
  );
  assert.equal(boolifyComparisons('(a or b) >= 1 and c < 2'), '(a or b) >= bool 1 and c < bool 2');
  assert.equal(boolifyComparisons('a > bool 1'), 'a > bool 1');
  assert.equal(boolifyComparisons('label_replace(a, "x", ">", "y", "<=")'), 'label_replace(a, "x", ">", "y", "<=")');
});

test('expandGrafanaVariables applies Grafana\'s $__rate_interval rule and refuses unknown variables', () => {
  const options = { stepSeconds: 1, scrapeSeconds: 1, variables: { instance: '.+' } };
  assert.equal(
    expandGrafanaVariables('rate(x{instance=~"$instance"}[$__rate_interval])', options),
    'rate(x{instance=~".+"}[4s])',
  );
  assert.equal(expandGrafanaVariables('rate(x[$__rate_interval])', { ...options, stepSeconds: 15, scrapeSeconds: 5 }), 'rate(x[20s])');
  assert.equal(expandGrafanaVariables('avg_over_time(x[${__interval}])', options), 'avg_over_time(x[1s])');
  assert.throws(() => expandGrafanaVariables('x{a="$nope"}', options), /unknown Grafana variable \$nope/);
});
