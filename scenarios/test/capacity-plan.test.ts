import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { plan, USABLE_MEMORY_SHARE, type PlanRequest } from '../lib/capacity-plan.ts';
import { fig, GiB, model } from './support/crafted-model.ts';

const request = (over: Partial<PlanRequest> = {}): PlanRequest => ({
  viewers: 500_000,
  rooms: 200,
  ratePerRoom: 20,
  p99Ms: 250,
  churnPerMinute: 0,
  coresPerMachine: 4,
  memoryPerMachineBytes: 16 * GiB,
  headroomPercent: 0,
  ...over,
});

describe('capacity planner', () => {
  it('delivers every message of a room to each of its viewers: 500,000 viewers at 20 msg/s per room need 10 million deliveries/s, 50 nodes of 200,000', () => {
    const a = plan(model(), request());
    const deliveries = a.needs.find((n) => n.resource === 'deliveries')!;
    assert.equal(deliveries.demand, 10_000_000);
    assert.equal(a.nodes, 50);
    assert.equal(a.binding, 'deliveries');
    assert.equal(a.machines, 13);
    assert.equal(a.workersPerMachine, 4);
    assert.equal(a.headroomPercent, 0);
  });

  it('keeps the headroom asked for on every resource', () => {
    const a = plan(model(), request({ headroomPercent: 20 }));
    assert.equal(a.nodes, 60);
    assert.ok(a.headroomPercent! >= 20 - 1e-9, `headroom ${a.headroomPercent}`);
  });

  it('needs the same deliveries however the audience is split into rooms', () => {
    const one = plan(model(), request({ rooms: 1 })).needs.find((n) => n.resource === 'deliveries')!;
    const many = plan(model(), request({ rooms: 1000 })).needs.find((n) => n.resource === 'deliveries')!;
    assert.equal(one.demand, many.demand);
  });

  it('uses only the steps that met a stricter p99, and refuses a p99 no step met', () => {
    const strict = plan(model(), request({ p99Ms: 50 }));
    assert.equal(strict.nodes, 100);
    assert.match(strict.notes.join('\n'), /stricter than the model's SLO/);
    const impossible = plan(model(), request({ p99Ms: 10 }));
    assert.equal(impossible.nodes, null);
    assert.match(impossible.refused!, /no measured step met p99 ≤ 10 ms.*lowest p99 measured was 40\.0 ms/);
  });

  it('lets memory bind when connections are heavy, sharing each machine’s usable memory among its workers', () => {
    const a = plan(model({ memoryPerConnectionBytes: fig(1024 ** 2, 'bytes') }), request({ viewers: 100_000, ratePerRoom: 1, rooms: 100 }));
    const perNode = (16 * GiB * USABLE_MEMORY_SHARE) / 4;
    assert.equal(a.binding, 'memory');
    assert.equal(a.nodes, Math.ceil((100_000 * 1024 ** 2) / perNode));
    assert.equal(a.machines, Math.ceil(a.nodes! / 4));
  });

  it('plans churn as handshakes and token minting, and names the one that binds', () => {
    const a = plan(
      model({ handshakesPerSecond: fig(20, 'handshakes/s'), createChatTokenPerSecond: fig(10, 'tokens/s') }),
      request({ viewers: 1000, rooms: 10, ratePerRoom: 1, churnPerMinute: 3000 }),
    );
    assert.equal(a.needs.find((n) => n.resource === 'handshakes')!.nodes, 3);
    assert.equal(a.needs.find((n) => n.resource === 'token minting')!.nodes, 5);
    assert.equal(a.binding, 'token minting');
    assert.equal(a.nodes, 5);
  });

  it('charges every node the bus cost of every room’s messages and lets the backplane bind', () => {
    const a = plan(model({ busMicrosPerMessage: fig(10, 'µs CPU/bus message') }), request());
    assert.deepEqual(a.backplane, { messagesPerSecondPerNode: 4000, coreShare: 0.04 });
    assert.equal(a.binding, 'backplane');
    assert.equal(a.nodes, Math.ceil(10_000_000 / (200_000 * 0.96)));
    const saturated = plan(model({ busMicrosPerMessage: fig(300, 'µs CPU/bus message') }), request());
    assert.equal(saturated.nodes, null);
    assert.match(saturated.refused!, /backplane binds at any node count/);
  });

  it('says the bus cost is missing when several nodes are needed and the model has none', () => {
    assert.match(plan(model(), request()).notes.join('\n'), /no backplane figure/);
    assert.doesNotMatch(plan(model(), request({ viewers: 100, rooms: 1 })).notes.join('\n'), /no backplane figure/);
  });

  it('says where it extrapolates: rooms larger, rates higher and more rooms or connections per node than measured', () => {
    const a = plan(model(), request({ viewers: 500_000, rooms: 2, ratePerRoom: 40 }));
    const text = a.extrapolations.join('\n');
    assert.match(text, /rooms of 250,000 viewers: the model measured rooms up to 1,500/);
    assert.match(text, /40 messages\/s per room: the model measured up to 20/);
    const spread = plan(model(), request());
    assert.match(spread.extrapolations.join('\n'), /about 200 rooms per node: the model measured up to 10/);
  });

  it('calls a node count from a generator-bound figure an upper bound', () => {
    const a = plan(model({ deliveriesPerSecondAtSlo: fig(200_000, 'deliveries/s', 'generator') }), request());
    assert.match(a.notes.join('\n'), /deliveries: the model's figure is the load generator's limit, not the server's/);
  });
});
