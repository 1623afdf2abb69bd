import { readFileSync } from 'node:fs';
import path from 'node:path';

// Summarises a V8 .cpuprofile (node --cpu-prof) as the functions with the most self time, with
// their share of the samples: what bench:compare's note quotes. Load the same file in Chrome
// DevTools (Performance) or speedscope for the flame graph.
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

const STARTUP = /^(makeSyncRequest|waitForWorker|wrapSafe|compileSourceTextModule|compileForInternalLoader|compileForPublicLoader|parseSource|parseCJS|detectModuleFormat|internalModuleStat|nextHookFactory|compile) |lexer|register-|require-|index-[\w-]+\.mjs|run_main_module|loader:|resolve:|get_format:|hooks:/;

export function topFunctions(profile: Profile, count: number): { name: string; share: number; ms: number }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    const node = byId.get(profile.samples[i]!)!;
    const f = node.callFrame;
    const where = f.url ? `${path.basename(f.url)}:${f.lineNumber + 1}` : '';
    const key = `${f.functionName || '(anonymous)'}${where ? ` ${where}` : ''}`;
    self.set(key, (self.get(key) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  // Idle time is not the server's work, nor is start-up (loading and compiling modules through
  // tsx): shares are of the remaining samples, the server at work.
  const busy = [...self.entries()].filter(([k]) => !k.startsWith('(idle)') && !k.startsWith('(program)') && !STARTUP.test(k));
  const total = busy.reduce((n, [, us]) => n + us, 0);
  return busy
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, us]) => ({ name, share: us / total, ms: us / 1000 }));
}

if (process.argv[1] && import.meta.url.endsWith(path.basename(process.argv[1]))) {
  const file = process.argv[2];
  if (!file) throw new Error('usage: profile-top.ts <file.cpuprofile> [count]');
  const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  for (const { name, share, ms } of topFunctions(profile, Number(process.argv[3] ?? 15))) {
    process.stdout.write(`${(share * 100).toFixed(1).padStart(5)} %  ${ms.toFixed(0).padStart(7)} ms  ${name}\n`);
  }
}
