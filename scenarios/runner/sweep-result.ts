import { stepDeliveriesPerSecond, stepP99Ms, type CapacityModel } from '../lib/capacity-model.ts';
import type { RunResult, StepResult, TimelinePoint } from '../lib/results.ts';
import type { SweepOutcome } from './capacity-sweep.ts';

// The sweep as one results file (lib/results.ts), so the report and other tools read a capacity
// sweep like any run: its steps, the knee and what bound it. Each step was its own run; the
// whole-run figures are those of the last step within the SLO (percentiles cannot be added up).

export function sweepResult(outcome: SweepOutcome, model: CapacityModel): RunResult | undefined {
  const { steps, results } = outcome;
  if (results.length === 0) return undefined;
  const goodIndex = steps.findIndex((s) => s.crossed.length > 0);
  const lastGood = goodIndex === -1 ? steps.length - 1 : goodIndex - 1;
  const base = structuredClone(results[Math.max(0, lastGood)]!);
  // One step's histograms would pass for the whole sweep's in bench:merge.
  delete base.histograms;

  const stepResults: StepResult[] = steps.map((s, k) => ({
    step: s.step,
    viewers: s.viewers,
    ratePerRoom: s.ratePerRoom,
    sentPerSecond: results[k]!.messages.perSecond,
    deliveriesPerSecond: stepDeliveriesPerSecond(s),
    // The whole step's percentiles, but p99 is what the step was judged on: the median of its settled windows.
    latencyMs: { ...results[k]!.latencyMs, p99: stepP99Ms(s) },
    missing: s.missing,
    expected: s.expected,
    broken: s.crossed.length > 0,
  }));
  const timeline: TimelinePoint[] = [];
  let offset = 0;
  for (const r of results) {
    for (const p of r.timeline) timeline.push({ ...p, t: Math.round((p.t + offset) * 10) / 10 });
    offset += r.durationSeconds;
  }
  const sum = (pick: (r: RunResult) => number) => results.reduce((a, r) => a + pick(r), 0);
  const errors: Record<string, number> = {};
  for (const r of results) for (const [k, n] of Object.entries(r.errors)) errors[k] = (errors[k] ?? 0) + n;
  const boundBy = model.figures.deliveriesPerSecondAtSlo.boundBy;
  const good = lastGood >= 0 ? steps[lastGood] : undefined;

  return {
    ...base,
    scenario: 'capacity-sweep',
    startedAt: outcome.startedAt.toISOString(),
    durationSeconds: offset,
    viewers: { ...base.viewers, peak: Math.max(...results.map((r) => r.viewers.peak)), target: Math.max(...steps.map((s) => s.viewers)) },
    deliveries: {
      ...base.deliveries,
      expected: sum((r) => r.deliveries.expected),
      delivered: sum((r) => r.deliveries.delivered),
      missing: sum((r) => r.deliveries.missing),
      duplicated: sum((r) => r.deliveries.duplicated),
      outOfOrder: sum((r) => r.deliveries.outOfOrder),
      frames: sum((r) => r.deliveries.frames),
      peakPerSecond: Math.max(...results.map((r) => r.deliveries.peakPerSecond)),
      lossRatio: sum((r) => r.deliveries.expected) > 0 ? sum((r) => r.deliveries.missing) / sum((r) => r.deliveries.expected) : 0,
    },
    errors,
    steps: stepResults,
    capacity: {
      lastGoodStep: good ? lastGood + 1 : null,
      lastGoodViewers: good ? good.viewers : null,
      breakingStep: goodIndex === -1 ? null : goodIndex + 1,
      reason: model.stoppedBy,
      knee: model.curve.knee,
      boundBy,
    },
    timeline,
    thresholds: [],
    generator: { ...base.generator, bottleneck: results.some((r) => r.generator.bottleneck) },
    passed: good !== undefined,
    verdict: good === undefined ? 'failed' : boundBy === 'generator' ? 'generator-bound' : 'passed',
  };
}
