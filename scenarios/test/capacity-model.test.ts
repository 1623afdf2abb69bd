import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fitModel, judgeStep, spreadOf, type FitInput, type SweepSlo, type SweepStep, type SweepWindow } from '../lib/capacity-model.ts';
import { settled, sweepSteps } from '../runner/capacity-sweep.ts';

const SLO: SweepSlo = { p99Ms: 250, loss: 0, serverCpuPercent: 90 };

function windows(deliveriesPerSecond: number, p99Ms: number, over: Partial<SweepWindow> = {}): SweepWindow[] {
  return [0.98, 1.02].map((k) => ({
    seconds: 2,
    deliveriesPerSecond: deliveriesPerSecond * k,
    p99Ms: p99Ms * k,
    serverCpuPercent: 40,
    cpuMicrosPerDelivery: 5 * k,
    bytesPerDelivery: 250,
    generatorBound: false,
    ...over,
  }));
}

function step(index: number, viewers: number, p99Ms: number, over: Partial<SweepStep> = {}): SweepStep {
  const s: SweepStep = {
    step: index,
    viewers,
    rooms: 1,
    ratePerRoom: 10,
    windows: windows(viewers * 10, p99Ms),
    settled: true,
    lossRatio: 0,
    missing: 0,
    expected: 1000,
    errors: 0,
    generatorBound: false,
    crossed: [],
    crossedByGenerator: false,
    ...over,
  };
  const judged = judgeStep(s, SLO);
  return { ...s, crossed: judged.crossed, crossedByGenerator: judged.byGenerator };
}

function input(steps: SweepStep[], over: Partial<FitInput> = {}): FitInput {
  return {
    measuredAt: '2026-11-29T10:00:00.000Z',
    target: { url: 'http://127.0.0.1:1', kind: 'embedded' },
    machine: { cores: 2, totalMemoryBytes: 8 * 1024 ** 3, cpuModel: 'crafted', node: 'v20' },
    transport: 'raw',
    slo: SLO,
    steps,
    storm: [
      { connections: 1000, seconds: 2, rssGrowthBytes: 20_000_000, generatorBound: false },
      { connections: 1000, seconds: 2.5, rssGrowthBytes: 10_000_000, generatorBound: false },
    ],
    tokens: [
      { tokens: 800, seconds: 1, errors: 0, generatorBound: false },
      { tokens: 900, seconds: 1, errors: 0, generatorBound: false },
    ],
    ...over,
  };
}

describe('capacity model', () => {
  it('takes deliveries/s at the SLO from the last step within it, bound by the server when the next crossed it with the generator keeping up', () => {
    const m = fitModel(input([step(0, 1000, 10), step(1, 2000, 12), step(2, 4000, 15), step(3, 8000, 400)]));
    const d = m.figures.deliveriesPerSecondAtSlo;
    assert.equal(d.value, 40_000);
    assert.deepEqual(d.spread, { n: 2, min: 39_200, median: 40_000, max: 40_800 });
    assert.equal(d.boundBy, 'server');
    assert.equal(m.generatorBound, false);
    assert.match(m.stoppedBy, /step 4 .* crossed the SLO: p99 400\.0 ms > 250 ms/);
    assert.equal(m.curve.knee?.step, 3);
  });

  it('takes deliveries/s from the busiest step within the SLO, which is not always the last', () => {
    const m = fitModel(input([step(0, 1000, 10), step(1, 500, 12), step(2, 4000, 400)]));
    assert.equal(m.figures.deliveriesPerSecondAtSlo.value, 10_000);
  });

  it('calls the limit the generator’s when the step crossed only on latency while the generator was saturated', () => {
    const m = fitModel(input([step(0, 1000, 10), step(1, 2000, 400, { generatorBound: true })]));
    assert.equal(m.figures.deliveriesPerSecondAtSlo.boundBy, 'generator');
    assert.equal(m.generatorBound, true);
    assert.match(m.stoppedBy, /the generator’s limit, not necessarily the server’s/);
  });

  it('keeps a loss the server’s even with the generator saturated: a saturated generator delays frames, it does not lose them', () => {
    const lossy = step(1, 2000, 10, { generatorBound: true, lossRatio: 0.01, missing: 10 });
    assert.equal(lossy.crossedByGenerator, false);
    assert.equal(fitModel(input([step(0, 1000, 10), lossy])).figures.deliveriesPerSecondAtSlo.boundBy, 'server');
  });

  it('says a sweep that never crossed the SLO measured a lower bound ("none"), or the generator’s limit when it was saturated at the end', () => {
    assert.equal(fitModel(input([step(0, 1000, 10), step(1, 2000, 12)])).figures.deliveriesPerSecondAtSlo.boundBy, 'none');
    const saturated = fitModel(input([step(0, 1000, 10), step(1, 2000, 12, { generatorBound: true })]));
    assert.equal(saturated.figures.deliveriesPerSecondAtSlo.boundBy, 'generator');
  });

  it('fits memory per connection, handshakes/s and tokens/s from the storms with their spread', () => {
    const m = fitModel(input([step(0, 1000, 10)]));
    assert.equal(m.figures.memoryPerConnectionBytes.value, 15_000);
    assert.deepEqual(m.figures.memoryPerConnectionBytes.spread, { n: 2, min: 10_000, median: 15_000, max: 20_000 });
    assert.equal(m.figures.handshakesPerSecond.value, 450);
    assert.equal(m.figures.createChatTokenPerSecond.value, 850);
    assert.equal(m.measured.maxConnections, 2000);
  });

  it('takes per-delivery costs from the busiest step the generator kept up with, and flags them when every window was saturated', () => {
    const clean = fitModel(input([step(0, 1000, 10)]));
    assert.equal(clean.figures.cpuMicrosPerDelivery.value, 5);
    assert.equal(clean.figures.cpuMicrosPerDelivery.boundBy, 'server');
    const busiest = fitModel(input([step(0, 1000, 10, { windows: windows(10_000, 10, { cpuMicrosPerDelivery: 30 }) }), step(1, 2000, 12)]));
    assert.equal(busiest.figures.cpuMicrosPerDelivery.value, 5, 'the busier step, where fixed costs are spread thinnest');
    const skipSaturated = fitModel(input([step(0, 1000, 10, { windows: windows(10_000, 10, { cpuMicrosPerDelivery: 30 }) }), step(1, 2000, 12, { generatorBound: true })]));
    assert.equal(skipSaturated.figures.cpuMicrosPerDelivery.value, 30, 'the busiest step the generator kept up with');
    const busy = fitModel(input([step(0, 1000, 10, { windows: windows(10_000, 10, { generatorBound: true }) })]));
    assert.equal(busy.figures.cpuMicrosPerDelivery.boundBy, 'generator');
    const blind = fitModel(input([step(0, 1000, 10, { windows: windows(10_000, 10, { cpuMicrosPerDelivery: null, bytesPerDelivery: null }) })]));
    assert.equal(blind.figures.bytesPerDelivery.value, null);
    assert.match(blind.figures.bytesPerDelivery.note!, /does not export/);
  });

  it('crosses the SLO on server CPU and on errors, naming each', () => {
    const hot = step(0, 1000, 10, { windows: windows(10_000, 10, { serverCpuPercent: 95 }) });
    assert.deepEqual(hot.crossed, ['server CPU 95 % > 90 %']);
    const failing = step(0, 1000, 10, { errors: 3 });
    assert.deepEqual(failing.crossed, ['3 error(s)']);
  });

  it('adds the bus figure only when one is given', () => {
    assert.equal(fitModel(input([step(0, 1000, 10)])).figures.busMicrosPerMessage, undefined);
    const m = fitModel(input([step(0, 1000, 10)], { bus: { microsPerMessage: [12], source: 'crafted' } }));
    assert.equal(m.figures.busMicrosPerMessage?.value, 12);
  });

  it('summarises a spread as min, median and max', () => {
    assert.deepEqual(spreadOf([3, 1, 2, 10]), { n: 4, min: 1, median: 2.5, max: 10 });
    assert.equal(spreadOf([]), null);
  });
});

describe('capacity sweep plan', () => {
  it('orders the viewers × rate × rooms grid by the deliveries/s each step asks for, skipping rooms without viewers', () => {
    const steps = sweepSteps({ viewers: [100, 400], rates: [10, 2], rooms: [1, 200] });
    assert.deepEqual(
      steps.map((s) => [s.viewers, s.ratePerRoom, s.rooms]),
      [[100, 2, 1], [400, 2, 1], [400, 2, 200], [100, 10, 1], [400, 10, 1], [400, 10, 200]],
    );
  });

  it('calls windows settled when their deliveries/s and p99 agree, and not when load is still climbing', () => {
    assert.equal(settled([{ deliveriesPerSecond: 1000, p99Ms: 20 }, { deliveriesPerSecond: 1050, p99Ms: 22 }, { deliveriesPerSecond: 990, p99Ms: 19 }], 3), true);
    assert.equal(settled([{ deliveriesPerSecond: 500, p99Ms: 20 }, { deliveriesPerSecond: 800, p99Ms: 22 }, { deliveriesPerSecond: 1000, p99Ms: 19 }], 3), false);
    assert.equal(settled([{ deliveriesPerSecond: 1000, p99Ms: 20 }, { deliveriesPerSecond: 1000, p99Ms: 90 }], 2), false);
    assert.equal(settled([{ deliveriesPerSecond: 1000, p99Ms: 20 }], 2), false);
  });
});
