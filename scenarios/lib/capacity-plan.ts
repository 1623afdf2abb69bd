import type { CapacityModel, ModelFigure } from './capacity-model.ts';

// `npm run plan`: how many nodes a deployment needs, from a capacity model measured on the user's
// own hardware. Pure arithmetic, so it is tested on crafted models. Every message a room receives
// is delivered to every viewer of that room: R rooms × r msg/s × (V / R) viewers = V × r
// deliveries/s, however the viewers are split into rooms.

export interface PlanRequest {
  viewers: number;
  rooms: number;
  /** Messages per second per room. */
  ratePerRoom: number;
  p99Ms: number;
  /** Viewers joining (and leaving) per minute in steady state; each join is a token and a handshake. */
  churnPerMinute: number;
  coresPerMachine: number;
  memoryPerMachineBytes: number;
  /** Spare capacity to keep on every resource, in percent of its demand (a node lost, a burst). */
  headroomPercent: number;
}

export type Resource = 'deliveries' | 'memory' | 'handshakes' | 'token minting' | 'backplane';

export interface ResourceNeed {
  resource: Resource;
  unit: string;
  /** What the deployment asks of all nodes together. */
  demand: number;
  /** What one node gives (after the backplane's share, for deliveries). */
  perNode: number;
  nodes: number;
  /** demand / (answer's nodes × perNode), in percent. */
  utilisationPercent: number;
  boundBy: ModelFigure['boundBy'];
}

export interface PlanAnswer {
  /** null when the model cannot answer (see refused). */
  nodes: number | null;
  machines: number | null;
  workersPerMachine: number | null;
  binding: Resource | null;
  /** Spare capacity of the binding resource at the answer, in percent of its demand. */
  headroomPercent: number | null;
  needs: ResourceNeed[];
  backplane: { messagesPerSecondPerNode: number; coreShare: number } | null;
  /** Where the answer goes beyond what the model measured. */
  extrapolations: string[];
  notes: string[];
  refused?: string;
}

/** Share of a machine's memory the nodes may use; the rest is the OS, the runtime and bursts. */
export const USABLE_MEMORY_SHARE = 0.8;

function usable(f: ModelFigure | undefined): f is ModelFigure & { value: number } {
  return f !== undefined && f.value !== null && f.value > 0;
}

/** The most deliveries/s a node sustained with p99 within `p99Ms` (and the rest of the model's SLO). */
export function deliveriesWithin(model: CapacityModel, p99Ms: number): number | null {
  const ok = model.curve.points.filter((p) => p.withinSlo && p.p99Ms <= p99Ms);
  return ok.length ? Math.max(...ok.map((p) => p.deliveriesPerSecond)) : null;
}

export function plan(model: CapacityModel, r: PlanRequest): PlanAnswer {
  const notes: string[] = [];
  const extrapolations: string[] = [];
  const refuse = (why: string): PlanAnswer => ({
    nodes: null,
    machines: null,
    workersPerMachine: null,
    binding: null,
    headroomPercent: null,
    needs: [],
    backplane: null,
    extrapolations,
    notes,
    refused: why,
  });
  const f = model.figures;
  const perNodeDeliveries = deliveriesWithin(model, r.p99Ms);
  if (perNodeDeliveries === null) {
    const best = model.curve.points.length ? `the lowest p99 measured was ${model.measured.minP99Ms.toFixed(1)} ms` : 'the model has no steps';
    return refuse(`no measured step met p99 ≤ ${r.p99Ms} ms within the model's SLO (${best}): the model cannot answer; measure smaller steps or accept a looser p99`);
  }
  if (r.p99Ms > model.slo.p99Ms) {
    notes.push(`the model was measured to p99 ≤ ${model.slo.p99Ms} ms: a node may sustain more at ${r.p99Ms} ms than this answer assumes (conservative)`);
  }

  const viewersPerRoom = r.viewers / r.rooms;
  const deliveryDemand = r.viewers * r.ratePerRoom;
  const joinsPerSecond = r.churnPerMinute / 60;

  // A multi-node deployment fans out through the bus: a node with viewers in a room receives that
  // room's every message, whatever the number of nodes, so the bus is a fixed share of each node.
  let backplane: PlanAnswer['backplane'] = null;
  let busShare = 0;
  const singleNode = Math.ceil(deliveryDemand / perNodeDeliveries) <= 1;
  if (!singleNode) {
    if (usable(f.busMicrosPerMessage)) {
      const perNode = r.rooms * r.ratePerRoom;
      busShare = (perNode * f.busMicrosPerMessage.value) / 1e6;
      backplane = { messagesPerSecondPerNode: perNode, coreShare: busShare };
      if (busShare >= 1) {
        return refuse(
          `every node would read ${perNode} bus messages/s at ${f.busMicrosPerMessage.value.toFixed(1)} µs each, ${(busShare * 100).toFixed(0)} % of a core before delivering anything: ` +
            'the backplane binds at any node count; split the rooms over separate clusters',
        );
      }
      if (viewersPerRoom < 2) notes.push('rooms smaller than the node count are not on every node: the bus share is an upper bound');
    } else {
      notes.push('the model has no backplane figure: the Redis bus cost of several nodes is not included (npm run bench:bus, then npm run capacity -- --bus FILE)');
    }
  }

  const needs: ResourceNeed[] = [];
  const need = (resource: Resource, unit: string, demand: number, perNode: number, boundBy: ModelFigure['boundBy']) => {
    const nodes = demand > 0 ? Math.ceil((demand * (1 + r.headroomPercent / 100)) / perNode) : 0;
    needs.push({ resource, unit, demand, perNode, nodes, utilisationPercent: 0, boundBy });
  };
  need('deliveries', 'deliveries/s', deliveryDemand, perNodeDeliveries, f.deliveriesPerSecondAtSlo.boundBy);
  if (busShare > 0) {
    const taxed = perNodeDeliveries * (1 - busShare);
    need('backplane', 'deliveries/s', deliveryDemand, taxed, f.busMicrosPerMessage!.boundBy);
  }
  const workersPerMachine = Math.max(1, Math.floor(r.coresPerMachine));
  if (usable(f.memoryPerConnectionBytes)) {
    const perNode = (r.memoryPerMachineBytes * USABLE_MEMORY_SHARE) / workersPerMachine;
    need('memory', 'bytes', r.viewers * f.memoryPerConnectionBytes.value, perNode, f.memoryPerConnectionBytes.boundBy);
  } else notes.push('the model has no memory per connection: memory not planned');
  if (joinsPerSecond > 0) {
    if (usable(f.handshakesPerSecond)) need('handshakes', 'handshakes/s', joinsPerSecond, f.handshakesPerSecond.value, f.handshakesPerSecond.boundBy);
    else notes.push('the model has no handshake rate: churn not planned');
    if (usable(f.createChatTokenPerSecond)) need('token minting', 'tokens/s', joinsPerSecond, f.createChatTokenPerSecond.value, f.createChatTokenPerSecond.boundBy);
    else notes.push('the model has no CreateChatToken rate: token minting not planned');
  }

  const worst = needs.reduce((a, b) => (b.nodes > a.nodes ? b : a));
  const nodes = Math.max(1, worst.nodes);
  for (const n of needs) n.utilisationPercent = (n.demand / (nodes * n.perNode)) * 100;
  const headroomPercent = worst.demand > 0 ? ((nodes * worst.perNode) / worst.demand - 1) * 100 : null;

  if (usable(f.handshakesPerSecond)) {
    notes.push(`the whole audience joins in about ${Math.ceil(r.viewers / (nodes * f.handshakesPerSecond.value))} s at the measured handshake rate`);
  }
  for (const n of needs) {
    if (n.nodes === 0) continue;
    if (n.boundBy === 'generator') notes.push(`${n.resource}: the model's figure is the load generator's limit, not the server's; the ${n.resource} node count is an upper bound`);
    if (n.boundBy === 'none' && n.resource === 'deliveries') notes.push('deliveries: the sweep never reached the server\'s limit; the node count is an upper bound');
  }

  const m = model.measured;
  if (viewersPerRoom > m.maxViewersPerRoom) extrapolations.push(`rooms of ${Math.round(viewersPerRoom).toLocaleString('en-US')} viewers: the model measured rooms up to ${m.maxViewersPerRoom.toLocaleString('en-US')}`);
  if (r.ratePerRoom > m.maxRatePerRoom) extrapolations.push(`${r.ratePerRoom} messages/s per room: the model measured up to ${m.maxRatePerRoom}`);
  // Viewers spread evenly: a room is on every node once it has at least as many viewers as there are nodes.
  const roomsPerNode = viewersPerRoom >= nodes ? r.rooms : (r.rooms * viewersPerRoom) / nodes;
  if (roomsPerNode > m.maxRooms) extrapolations.push(`about ${Math.ceil(roomsPerNode)} rooms per node: the model measured up to ${m.maxRooms}`);
  const connectionsPerNode = r.viewers / nodes;
  if (connectionsPerNode > m.maxConnections) extrapolations.push(`${Math.ceil(connectionsPerNode).toLocaleString('en-US')} connections per node: the model held up to ${m.maxConnections.toLocaleString('en-US')}`);
  if (r.p99Ms < model.slo.p99Ms) notes.push(`p99 ≤ ${r.p99Ms} ms is stricter than the model's SLO (${model.slo.p99Ms} ms): only the steps that met it count`);

  return {
    nodes,
    machines: Math.ceil(nodes / workersPerMachine),
    workersPerMachine: Math.min(workersPerMachine, nodes),
    binding: worst.resource,
    headroomPercent,
    needs,
    backplane,
    extrapolations,
    notes,
  };
}
