import { CAPACITY_MODEL_KIND, CAPACITY_MODEL_VERSION, type CapacityModel, type ModelFigure } from '../../lib/capacity-model.ts';

// A capacity model with round figures, for the planner's tests.

export const GiB = 1024 ** 3;

export function fig(value: number | null, unit: string, boundBy: ModelFigure['boundBy'] = 'server'): ModelFigure {
  return { value, unit, spread: value === null ? null : { n: 2, min: value, median: value, max: value }, boundBy };
}

/** A node that holds 100,000 deliveries/s at p99 40 ms, 200,000 at 120 ms, and broke at 300,000. */
export function model(over: Partial<CapacityModel['figures']> = {}): CapacityModel {
  const point = (step: number, deliveriesPerSecond: number, p99Ms: number, withinSlo: boolean) => ({
    step,
    viewers: deliveriesPerSecond / 20,
    rooms: 10,
    ratePerRoom: 20,
    deliveriesPerSecond,
    p99Ms,
    serverCpuPercent: 50,
    generatorBound: false,
    withinSlo,
  });
  return {
    kind: CAPACITY_MODEL_KIND,
    schemaVersion: CAPACITY_MODEL_VERSION,
    measuredAt: '2026-11-29T10:00:00.000Z',
    target: { url: 'http://127.0.0.1:1', kind: 'embedded' },
    machine: { cores: 4, totalMemoryBytes: 16 * GiB, cpuModel: 'crafted', node: 'v20' },
    nodeWorkers: 1,
    transport: 'raw',
    slo: { p99Ms: 250, loss: 0, serverCpuPercent: 90 },
    figures: {
      deliveriesPerSecondAtSlo: fig(200_000, 'deliveries/s'),
      memoryPerConnectionBytes: fig(10_000, 'bytes'),
      handshakesPerSecond: fig(1000, 'handshakes/s'),
      createChatTokenPerSecond: fig(2000, 'tokens/s'),
      cpuMicrosPerDelivery: fig(4, 'µs CPU/delivery'),
      bytesPerDelivery: fig(300, 'bytes/delivery'),
      ...over,
    },
    curve: { points: [point(1, 100_000, 40, true), point(2, 200_000, 120, true), point(3, 300_000, 400, false)], knee: null },
    measured: { maxViewersPerRoom: 1500, maxRooms: 10, maxRatePerRoom: 20, maxConnections: 15_000, maxDeliveriesPerSecond: 300_000, minP99Ms: 40 },
    generatorBound: false,
    stoppedBy: 'crafted',
  };
}

