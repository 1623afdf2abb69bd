// Cuts a .cpuprofile down to the window where a given function is busy, so that one workload of a
// session that ran several (bench:compare's fixed load runs one room × 2,000, then 50 rooms × 40,
// on one server) can be summarised alone. The window runs from the 5th to the 100th percentile of
// the times of the samples whose stack holds the function (the workload with most messages
// dominates those samples). Writes <file>.window.cpuprofile; summarise it with
// scenarios/runner/bench/compare/profile-top.ts.
//   node --import tsx server/bench/profile-window.ts <file.cpuprofile> [function, default decodeRequest]
import { readFileSync, writeFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const [file, fn = 'decodeRequest'] = process.argv.slice(2);
if (!file) throw new Error('usage: profile-window.ts <file.cpuprofile> [function]');
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const holds = new Map<number, boolean>();
const stackHolds = (id: number): boolean => {
  const known = holds.get(id);
  if (known !== undefined) return known;
  const node = byId.get(id)!;
  const result = node.callFrame.functionName === fn || (parent.has(id) && stackHolds(parent.get(id)!));
  holds.set(id, result);
  return result;
};
const times: number[] = [];
let t = profile.startTime;
const at = profile.samples.map((_, i) => (t += profile.timeDeltas[i]!));
profile.samples.forEach((id, i) => {
  if (stackHolds(id)) times.push(at[i]!);
});
if (!times.length) throw new Error(`no sample holds ${fn}`);
const from = times[Math.floor(times.length * 0.05)]!;
const to = times.at(-1)!;
const keep = profile.samples.map((_, i) => at[i]! >= from && at[i]! <= to);
const samples = profile.samples.filter((_, i) => keep[i]);
const deltas: number[] = [];
let last = from;
profile.samples.forEach((_, i) => {
  if (!keep[i]) return;
  deltas.push(at[i]! - last);
  last = at[i]!;
});
const out = file.replace(/\.cpuprofile$/, '') + '.window.cpuprofile';
writeFileSync(out, JSON.stringify({ ...profile, startTime: from, endTime: to, samples, timeDeltas: deltas }));
process.stdout.write(`${out}: ${((to - from) / 1e6).toFixed(1)} s of ${((profile.endTime - profile.startTime) / 1e6).toFixed(1)} s, ${samples.length} samples\n`);
