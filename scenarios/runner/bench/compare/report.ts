import type { ConnectionsResult } from './connections.ts';
import type { SecondSample, WindowResult } from './load.ts';
import type { SearchResult } from './sustained.ts';
import type { TargetName } from './targets.ts';

// The comparison's table, as text for the terminal and as Markdown for docs/benchmarks.md: one
// row per figure, a column per target, the ratio of chatstorm (and ws) to bare, and the target.
// Absolute figures depend on the machine; the ratios are what compares.

type ByTarget<T> = Partial<Record<TargetName, T>>;
type Fanout = 'one' | 'many';

export interface CompareResult {
  benchmark: 'compare';
  at: string;
  command: string;
  machine: { cpu: string; cores: number; memoryGiB: number; node: string; kernel: string; loadAverage: number[]; loadAverageAtEnd: number[] };
  pinning: unknown;
  quick: boolean;
  options: Record<string, number>;
  targets: TargetName[];
  fixed: ByTarget<Record<Fanout, WindowResult>>;
  realistic: ByTarget<WindowResult>;
  sustained: Record<string, Record<string, { median: number; min: number; max: number; runs: SearchResult[] }>>;
  connections: ByTarget<ConnectionsResult>;
  /** after: the recovery past its first graceSeconds (5 s at full size). */
  overload: ByTarget<{ base: number; during: WindowResult; after: WindowResult; perSecond: SecondSample[]; recoveredAfterSeconds: number | null; graceSeconds: number }>;
}

interface Row {
  measure: string;
  values: ByTarget<number | string>;
  /** Ratio of the numbers to bare's; omitted for rows where a ratio means nothing. */
  ratio?: boolean;
  target?: string;
  unit?: string;
}

const fmt = (v: number | string | undefined, unit = ''): string => {
  if (v === undefined) return '—';
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  const digits = Number.isInteger(v) || Math.abs(v) >= 100 ? 0 : Math.abs(v) >= 10 ? 1 : Math.abs(v) >= 1 ? 2 : 3;
  return `${v.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits })}${unit}`;
};

/** Every row of the table, in order; a row whose figure a workload did not produce is left out. */
export function rows(r: CompareResult): Row[] {
  const out: Row[] = [];
  const per = <T>(src: ByTarget<T>, pick: (x: T) => number | string): ByTarget<number | string> =>
    Object.fromEntries(Object.entries(src).map(([k, v]) => [k, pick(v as T)]));
  const fanoutLabel = { one: `1 room × ${r.options.viewers}`, many: `${r.options.rooms} rooms × ${r.options.roomViewers}` };
  for (const f of ['one', 'many'] as Fanout[]) {
    const has = Object.values(r.fixed).some((x) => x?.[f]);
    if (!has) continue;
    const fx = r.fixed as ByTarget<Record<Fanout, WindowResult>>;
    out.push({ measure: `fixed ${fanoutLabel[f]} at ${fmt(r.options.fixedRate)} deliveries/s: server CPU per delivery`, values: per(fx, (x) => x[f].serverCpuMicrosPerDelivery), ratio: true, target: '≤ 1.1×', unit: ' µs' });
    out.push({ measure: '  p50 latency', values: per(fx, (x) => x[f].p50Ms), ratio: true, unit: ' ms' });
    out.push({ measure: '  p99 latency', values: per(fx, (x) => x[f].p99Ms), ratio: true, target: '≤ 1.2×', unit: ' ms' });
    out.push({ measure: '  delivered', values: per(fx, (x) => x[f].deliveredShare * 100), unit: ' %' });
    out.push({ measure: '  server CPU', values: per(fx, (x) => x[f].serverCpuPercent), unit: ' %' });
    out.push({ measure: '  load side CPU (all its threads)', values: per(fx, (x) => x[f].generatorCpuPercent), unit: ' %' });
    out.push({ measure: '  MESSAGE frame bytes', values: per(fx, (x) => `${x[f].frameBytes[0]}–${x[f].frameBytes[1]}`) });
  }
  for (const f of ['one', 'many'] as Fanout[]) {
    type Summary = CompareResult['sustained'][string][string];
    const s: ByTarget<Summary> = Object.fromEntries(Object.entries(r.sustained).filter(([, v]) => v[f]).map(([k, v]) => [k, v[f]!]));
    if (!Object.keys(s).length) continue;
    out.push({ measure: `highest sustained rate, ${fanoutLabel[f]}, median of ${r.options.repeats}`, values: per<Summary>(s, (x) => x.median), ratio: true, target: '≥ 0.85×', unit: '/s' });
    out.push({ measure: '  spread (min – max)', values: per<Summary>(s, (x) => `${fmt(x.min)} – ${fmt(x.max)}`) });
    out.push({ measure: '  load side CPU at the highest step held', values: per<Summary>(s, (x) => Math.max(0, ...x.runs.flatMap((run) => run.steps.filter((st) => st.held).map((st) => st.window.generatorCpuPercent)))), unit: ' %' });
  }
  if (Object.keys(r.overload).length) {
    const ov = r.overload;
    out.push({ measure: 'overload: 2× the sustained rate (1 room)', values: per(ov, (x) => 2 * x.base), unit: '/s' });
    out.push({ measure: '  p99 during the overload', values: per(ov, (x) => x.during.p99Ms), unit: ' ms' });
    const grace = Math.min(5, r.options.recoverySeconds! / 2);
    out.push({ measure: `  p99 from ${grace} s after the overload on (half the rate)`, values: per(ov, (x) => x.after.p99Ms), ratio: true, target: '< 100 ms', unit: ' ms' });
    out.push({ measure: '  p99 back under 100 ms (every later second) after', values: per(ov, (x) => (x.recoveredAfterSeconds === null ? 'not in the run' : `${x.recoveredAfterSeconds} s`)), target: '≤ 5 s' });
    out.push({ measure: '  p99 per second after (half the sustained rate)', values: per(ov, (x) => x.perSecond.map((s) => (Number.isNaN(s.p99Ms) ? '–' : s.p99Ms.toFixed(0))).join(' ') + ' ms') });
    out.push({ measure: '  viewers cut', values: per(ov, (x) => x.after.viewersCut) });
    out.push({ measure: `  delivered during / from ${grace} s after on`, values: per(ov, (x) => `${(x.during.deliveredShare * 100).toFixed(1)} / ${(x.after.deliveredShare * 100).toFixed(1)} %`) });
    out.push({ measure: '  backlog max: in the server process (send buffers)', values: per(ov, (x) => Math.max(x.during.maxQueues.serverProcessBuffered, x.after.maxQueues.serverProcessBuffered) / 2 ** 20), unit: ' MiB' });
    out.push({ measure: '  backlog max: kernel, server → load side (Send-Q)', values: per(ov, (x) => Math.max(x.during.maxQueues.serverSendQ, x.after.maxQueues.serverSendQ) / 2 ** 20), unit: ' MiB' });
    out.push({ measure: '  backlog max: kernel, unread by the load side (Recv-Q)', values: per(ov, (x) => Math.max(x.during.maxQueues.clientRecvQ, x.after.maxQueues.clientRecvQ) / 2 ** 20), unit: ' MiB' });
    out.push({ measure: '  load side CPU during', values: per(ov, (x) => x.during.generatorCpuPercent), unit: ' %' });
  }
  if (Object.keys(r.connections).length) {
    const c = r.connections as ByTarget<ConnectionsResult>;
    out.push({ measure: `handshake storm at ${fmt(r.options.handshakeRate)}/s: server CPU per handshake`, values: per(c, (x) => x.serverCpuMicrosPerHandshake), ratio: true, target: '≤ 1.25×', unit: ' µs' });
    out.push({ measure: '  handshake p99 (connect to 101)', values: per(c, (x) => x.handshakeP99Ms), ratio: true, unit: ' ms' });
    out.push({ measure: '  accepted', values: per(c, (x) => `${x.accepted} / ${x.handshakes}`) });
    out.push({ measure: `RSS per idle connection (${fmt(r.options.connections)})`, values: per(c, (x) => x.rssBytesPerConnection / 1024), ratio: true, target: '≤ 2×', unit: ' KiB' });
    out.push({ measure: 'CreateChatToken (64 in flight)', values: per(c, (x) => x.tokensPerSecond), unit: '/s' });
    out.push({ measure: '  server CPU per token', values: per(c, (x) => x.serverCpuMicrosPerToken), unit: ' µs' });
  }
  if (Object.keys(r.realistic).length) {
    const re = r.realistic as ByTarget<WindowResult>;
    const label = `realistic: ${fmt(r.options.realisticViewers)} viewers in ${r.options.realisticRooms} rooms, ${r.options.realisticRate} msg/s per room`;
    out.push({ measure: `${label}: server CPU per delivery`, values: per(re, (x) => x.serverCpuMicrosPerDelivery), ratio: true, unit: ' µs' });
    out.push({ measure: '  p99 latency', values: per(re, (x) => x.p99Ms), ratio: true, unit: ' ms' });
    out.push({ measure: '  delivered', values: per(re, (x) => x.deliveredShare * 100), unit: ' %' });
    out.push({ measure: '  server CPU / load side CPU', values: per(re, (x) => `${x.serverCpuPercent.toFixed(0)} / ${x.generatorCpuPercent.toFixed(0)} %`) });
  }
  return out;
}

export function renderReport(r: CompareResult): { text: string; markdown: string } {
  const table = rows(r);
  const names = r.targets;
  const ratioCols = names.filter((n) => n !== 'bare');
  const header = ['measure', ...names.map((n) => `${n}*`), ...ratioCols.map((n) => `${n}/bare`), 'target'];
  const cells = table.map((row) => {
    const ratios = ratioCols.map((n) => {
      const a = row.values[n];
      const b = row.values.bare;
      return row.ratio && typeof a === 'number' && typeof b === 'number' && b !== 0 ? `${(a / b).toFixed(2)}×` : '';
    });
    return [row.measure, ...names.map((n) => fmt(row.values[n], row.unit)), ...ratios, row.target ?? ''];
  });
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ');
  const m = r.machine;
  const about = `Node ${m.node}, ${m.cpu}, ${m.cores} cores, load average ${m.loadAverage.map((x) => x.toFixed(1)).join(' ')} at the start, ${m.loadAverageAtEnd.map((x) => x.toFixed(1)).join(' ')} at the end; ${typeof r.pinning === 'object' ? 'server pinned to core 0, load side to the rest' : 'not pinned'}${r.quick ? '; --quick (tiny sizes: the figures mean nothing)' : ''}`;
  const text = [`compare benchmark — ${about}`, `  * absolute figures depend on the machine; compare the ratios`, `  ${line(header)}`, ...cells.map((c) => `  ${line(c)}`)].join('\n');
  const markdown = [
    `| ${header.join(' | ')} |`,
    `|${header.map((_, i) => (i === 0 ? ' --- ' : ' ---: ')).join('|')}|`,
    ...cells.map((c) => `| ${c.map((x) => x.replace(/\|/g, '\\|')).join(' | ')} |`),
    '',
    `\\* machine-dependent absolute figures. ${about}. Command: \`${r.command}\`, ${r.at}.`,
    '',
  ].join('\n');
  return { text, markdown };
}
