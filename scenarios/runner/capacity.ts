import { parseDurationMs } from '../lib/duration.ts';
import { findKnee } from '../lib/knee.ts';
import type { CapacityKnee, RunResult, StepResult } from '../lib/results.ts';
import type { Plan } from '../lib/schedule.ts';
import { percentilesOf, type RunAggregate, type StepTally } from './aggregate.ts';

// Judging a stepped run (profile.steps > 0): whether a step broke, when the run stops, and the
// verdict over all steps. The runner calls this; it holds no judgement of its own.

export interface StepLimits {
  p99Ms: number;
  /** Missing / expected above this breaks a step (0 = any missing message). */
  loss: number;
}

export function stepLimits(plan: Plan): StepLimits {
  return { p99Ms: parseDurationMs(plan.profile.capacity.p99), loss: plan.profile.capacity.loss };
}

/** Watches the steps as they run: each is judged when the next begins. */
export class StepWatch {
  private lastStep = -1;
  private stopped = false;

  constructor(private readonly plan: Plan) {}

  /**
   * Called on every tick at `t` ms into the load phase; returns why the run must stop (the step
   * that just ended broke and the profile stops on a break), or undefined.
   */
  check(t: number, aggregate: RunAggregate): string | undefined {
    const step = this.plan.stepAt(t);
    let stop: string | undefined;
    if (step > this.lastStep && this.lastStep >= 0 && !this.stopped && this.plan.profile.capacity.stopOnBreak) {
      const tally = aggregate.steps[this.lastStep];
      const p99 = tally ? percentilesOf(tally.latency).p99 : 0;
      if (tally && p99 > stepLimits(this.plan).p99Ms) {
        stop = `step ${this.lastStep + 1} broke (p99 ${p99.toFixed(1)} ms > ${this.plan.profile.capacity.p99}): stopping`;
        this.stopped = true;
        foldStepsAfter(aggregate, this.lastStep);
      }
    }
    if (step >= 0) this.lastStep = step;
    return stop;
  }
}

/** After a break, reports that came in once the next step had begun belong to the broken step's aftermath. */
function foldStepsAfter(aggregate: RunAggregate, step: number): void {
  aggregate.lastStep = step;
  const after: StepTally[] = aggregate.steps.splice(step + 1);
  const last = aggregate.steps[step];
  if (!last) return;
  for (const tally of after) {
    last.frames += tally.frames;
    last.latency.add(tally.latency);
    last.endMs = Math.max(last.endMs, tally.endMs);
  }
}

export function stepResults(plan: Plan, a: RunAggregate): StepResult[] {
  const limits = stepLimits(plan);
  return a.steps.map((tally, step) => {
    const counts = a.ledger.buckets[step] ?? { expected: 0, delivered: 0, missing: 0 };
    const latencyMs = percentilesOf(tally.latency);
    const seconds = Math.max(1, (tally.endMs - tally.startMs) / 1000);
    const lossRatio = counts.expected > 0 ? counts.missing / counts.expected : 0;
    return {
      step,
      viewers: tally.peakViewers,
      ratePerRoom: plan.stepRoomRate(step),
      // Over the step's planned length: a step cut short by Ctrl-C reads low.
      sentPerSecond: (a.sentByStep[step] ?? 0) / (plan.stepMs / 1000),
      deliveriesPerSecond: tally.frames / seconds,
      latencyMs,
      missing: counts.missing,
      expected: counts.expected,
      broken: latencyMs.p99 > limits.p99Ms || lossRatio > limits.loss,
    };
  });
}

/** The knee of the steps' p99-vs-deliveries/s curve (lib/knee.ts), or null. */
export function stepKnee(steps: readonly StepResult[]): CapacityKnee | null {
  const measured = steps.filter((s) => s.latencyMs.count > 0);
  const index = findKnee(measured.map((s) => ({ x: s.deliveriesPerSecond, y: s.latencyMs.p99 })));
  if (index === null) return null;
  const s = measured[index]!;
  return { step: s.step + 1, deliveriesPerSecond: s.deliveriesPerSecond, p99Ms: s.latencyMs.p99 };
}

export function capacityVerdict(plan: Plan, steps: StepResult[], generatorBound: boolean): NonNullable<RunResult['capacity']> {
  const broken = steps.findIndex((s) => s.broken);
  const lastGood = broken === -1 ? steps.length - 1 : broken - 1;
  const good = lastGood >= 0 ? steps[lastGood] : undefined;
  const limit = `p99 ≤ ${plan.profile.capacity.p99}, loss ≤ ${plan.profile.capacity.loss * 100} %`;
  // A step is named by what it raised: its audience, or (rate steps) the room's message rate.
  const byRate = plan.stepsByRate;
  const load = (s: StepResult) => (byRate ? `${s.viewers} viewers at ${roomRate(s)} msg/s per room` : `${s.viewers} viewers`);
  let reason: string;
  if (broken === -1) {
    reason = good ? `did not break (${limit}) up to ${load(good)} (step ${lastGood + 1}, p99 ${good.latencyMs.p99.toFixed(1)} ms)` : 'no steps ran';
  } else {
    const b = steps[broken]!;
    const why = b.latencyMs.p99 > stepLimits(plan).p99Ms ? `p99 ${b.latencyMs.p99.toFixed(1)} ms` : `${b.missing} missing of ${b.expected}`;
    reason =
      (good ? `held ${load(good)} (step ${lastGood + 1}, p99 ${good.latencyMs.p99.toFixed(1)} ms); ` : '') +
      `broke at step ${broken + 1} ${byRate ? `at ${roomRate(b)} msg/s per room` : `with ${b.viewers} viewers`}: ${why} (${limit})`;
  }
  if (broken !== -1 && generatorBound) {
    reason += ' — but the generator was saturated, so this is the generator’s limit, not necessarily the server’s';
  }
  return {
    lastGoodStep: good ? lastGood + 1 : null,
    lastGoodViewers: good ? good.viewers : null,
    breakingStep: broken === -1 ? null : broken + 1,
    reason,
    knee: stepKnee(steps),
    boundBy: broken === -1 ? 'none' : generatorBound ? 'generator' : 'server',
  };
}

function roomRate(s: StepResult): string {
  return String(Math.round((s.ratePerRoom ?? 0) * 100) / 100);
}
