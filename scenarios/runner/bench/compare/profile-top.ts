import { readFileSync } from 'node:fs';
import path from 'node:path';

// Summarises a V8 .cpuprofile (node --cpu-prof) of a server: the functions with the most self
// time, and the server's work grouped into the parts docs/benchmarks.md quotes, each with its
// share of the busy samples. Start-up (module loading through tsx) is left out of both, and the
// connection phase (tokens, handshakes) is shown apart from the per-message path. Load the same
// file in Chrome DevTools (Performance) or speedscope for the flame graph.
//
//   node --import tsx scenarios/runner/bench/compare/profile-top.ts <file.cpuprofile> [count]

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** Frames anywhere in the stack that make a sample start-up work. */
const STARTUP = /makeAsyncRequest|makeSyncRequest|module_job|loader:|hooks:|run_main_module/;
/** Frames anywhere in the stack that make a sample part of the connection phase. */
const PHASES: [string, RegExp][] = [
  ['used-token log append', /append-file\.ts/],
  ['handshake (token, upgrade, open)', /handshake\.ts|^open websocket\.ts|chat-token\.ts.*handshake/],
  ['CreateChatToken and other HTTP', /create-chat-token\.ts|router\.ts|respond\.ts|read-body\.ts/],
];
/** Self-time groups of the per-message path. */
const PARTS: [string, RegExp][] = [
  ['uWS publish (native)', /^deliver local-fanout|^\(anonymous\) bare-uws/],
  ['metrics (prom-client)', /histogram\.js|counter\.js|gauge\.js|registry\.js|util\.js/],
  ['decode SEND_MESSAGE', /decode-request|^parse |codePointLength/],
  ['build the MESSAGE frame', /frames\.ts|ids\.ts|message-frame\.ts|stringify|toISOString|randomFill/],
  ['per-message JS (handler, promises, chat-log check)', /websocket\.ts|send-message|broadcast|chat-log|runMicrotasks|processTicksAndRejections/],
  ['GC', /garbage collector/],
];

const label = (n: ProfileNode) => {
  const f = n.callFrame;
  return `${f.functionName || '(anonymous)'}${f.url ? ` ${path.basename(f.url)}:${f.lineNumber + 1}` : ''}`;
};

export function summarise(profile: Profile, count: number) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const self = new Map<string, number>();
  const groups = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, v: number) => m.set(k, (m.get(k) ?? 0) + v);
  let busy = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const dt = profile.timeDeltas[i] ?? 0;
    const own = label(node);
    if (own.startsWith('(idle)') || own.startsWith('(program)')) {
      add(groups, own.startsWith('(idle)') ? '(idle: not counted)' : '(program: native outside JS, not counted)', dt);
      continue;
    }
    const stack: string[] = [];
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) stack.push(label(byId.get(id)!));
    const joined = stack.join('\n');
    if (STARTUP.test(joined)) {
      add(groups, '(start-up: not counted)', dt);
      continue;
    }
    busy += dt;
    add(self, own, dt);
    const phase = PHASES.find(([, re]) => stack.some((frame) => re.test(frame)));
    if (phase) add(groups, `connection phase: ${phase[0]}`, dt);
    else add(groups, `per message: ${PARTS.find(([, re]) => re.test(own))?.[0] ?? 'other'}`, dt);
  }
  const rank = (m: Map<string, number>) =>
    [...m.entries()].sort((a, b) => b[1] - a[1]).map(([name, us]) => ({ name, ms: us / 1000, share: name.endsWith('not counted)') ? NaN : us / busy }));
  return { functions: rank(self).slice(0, count), groups: rank(groups) };
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [count]');
  const { functions, groups } = summarise(JSON.parse(readFileSync(file, 'utf8')) as Profile, Number(process.argv[3] ?? 15));
  const line = ({ name, ms, share }: { name: string; ms: number; share: number }) =>
    `${Number.isNaN(share) ? '       ' : `${(share * 100).toFixed(1).padStart(5)} %`}  ${ms.toFixed(0).padStart(7)} ms  ${name}\n`;
  process.stdout.write('by part (shares of the busy samples)\n');
  for (const g of groups) process.stdout.write(line(g));
  process.stdout.write('\nfunctions by self time\n');
  for (const f of functions) process.stdout.write(line(f));
}
