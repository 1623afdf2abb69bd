import type { CapacityModel, ModelFigure } from '../lib/capacity-model.ts';

// The model as a person reads it at the end of `npm run capacity`.

function figureLine(name: string, f: ModelFigure): string {
  const n = (x: number) => (Math.abs(x) >= 100 ? Math.round(x).toLocaleString('en-US') : x.toFixed(2));
  const value = f.value === null ? 'n/a' : `${n(f.value)} ${f.unit}`;
  const spread = f.spread && f.spread.n > 1 ? ` (spread ${n(f.spread.min)}–${n(f.spread.max)} over ${f.spread.n})` : f.spread ? ' (one sample)' : '';
  const bound = { server: 'bound by the server', generator: 'BOUND BY THE GENERATOR (the server can do at least this)', none: 'not reached (at least this)' }[f.boundBy];
  return `  ${name.padEnd(22)} ${value}${spread} — ${bound}${f.note && f.value === null ? `: ${f.note}` : ''}`;
}

export function formatModel(m: CapacityModel, file: string): string {
  const f = m.figures;
  const lines = [
    `capacity model of one node (${m.target.kind} ${m.target.url}, ${m.machine.cores} core(s), ${m.transport} transport), SLO p99 ≤ ${m.slo.p99Ms} ms, loss ≤ ${m.slo.loss * 100} %, server CPU ≤ ${m.slo.serverCpuPercent} %`,
    figureLine('deliveries/s at SLO', f.deliveriesPerSecondAtSlo),
    figureLine('memory per connection', f.memoryPerConnectionBytes),
    figureLine('handshakes/s', f.handshakesPerSecond),
    figureLine('CreateChatToken/s', f.createChatTokenPerSecond),
    figureLine('CPU per delivery', f.cpuMicrosPerDelivery),
    figureLine('bytes per delivery', f.bytesPerDelivery),
  ];
  if (f.busMicrosPerMessage) lines.push(figureLine('bus per message', f.busMicrosPerMessage));
  lines.push('  curve                  deliveries/s   p99 ms   server CPU');
  for (const p of m.curve.points) {
    lines.push(
      `    step ${String(p.step).padStart(2)}${p.withinSlo ? '  ' : ' ✗'}${m.curve.knee?.step === p.step ? ' knee' : '     '} ${Math.round(p.deliveriesPerSecond).toLocaleString('en-US').padStart(12)}  ${p.p99Ms.toFixed(1).padStart(7)}  ${p.serverCpuPercent === null ? '     n/a' : `${p.serverCpuPercent.toFixed(0).padStart(6)} %`}${p.generatorBound ? '  generator saturated' : ''}`,
    );
  }
  lines.push(`  knee                   ${m.curve.knee ? `step ${m.curve.knee.step}: ${Math.round(m.curve.knee.deliveriesPerSecond).toLocaleString('en-US')} deliveries/s at p99 ${m.curve.knee.p99Ms.toFixed(1)} ms` : 'none within the sweep'}`);
  lines.push(`  stopped                ${m.stoppedBy}`);
  if (m.generatorBound) lines.push('  WARNING                some figures are the load generator’s limit, not the server’s: npm run plan says so');
  lines.push(`  model                  ${file}`);
  return lines.join('\n');
}
