import type { Audience, WindowResult } from './load.ts';

// The highest sustained rate: an open-loop search in which every step holds its rate for the
// full hold time (not a short step), and a step counts as held only when nearly everything
// arrived, p99 stayed bounded and no viewer was cut. Doubling or halving finds a bracket, then
// geometric bisection narrows it.

export const HELD = { deliveredShare: 0.99, p99Ms: 500 } as const;

export interface SearchStep {
  deliveriesPerSecondOffered: number;
  held: boolean;
  window: WindowResult;
}

export interface SearchResult {
  /** Highest offered rate held, deliveries/s; 0 when none was. */
  sustained: number;
  /** Lowest rate that broke, deliveries/s; Infinity when none did. */
  broke: number;
  steps: SearchStep[];
}

export function held(w: WindowResult): boolean {
  return w.deliveredShare >= HELD.deliveredShare && w.p99Ms <= HELD.p99Ms && w.viewersCut === 0 && w.errors === 0;
}

export async function searchSustained(o: {
  /** Connects (or reconnects) the audience; returns the viewers per message. */
  ready: (fresh: boolean) => Promise<Audience>;
  start: number;
  steps: number;
  holdSeconds: number;
  progress: (line: string) => void;
}): Promise<SearchResult> {
  let lo = 0;
  let hi = Infinity;
  let rate = o.start;
  const steps: SearchStep[] = [];
  let fresh = false;
  for (let i = 0; i < o.steps; i++) {
    const audience = await o.ready(fresh);
    const window = await audience.window(rate / audience.viewers, o.holdSeconds);
    const ok = held(window);
    steps.push({ deliveriesPerSecondOffered: rate, held: ok, window });
    o.progress(
      `  ${Math.round(rate).toLocaleString('en-US')}/s: ${ok ? 'held' : 'not held'} (delivered ${(window.deliveredShare * 100).toFixed(1)} %, p99 ${window.p99Ms.toFixed(0)} ms, cut ${window.viewersCut}, server ${window.serverCpuPercent.toFixed(0)} %, load side ${window.generatorCpuPercent.toFixed(0)} %)`,
    );
    // After a step that broke, a fresh audience: closing the sockets discards whatever backlog
    // the server still holds for them, which would otherwise weigh on the next step.
    fresh = !ok || window.viewersOpen < audience.viewers * audience.rooms;
    if (ok) lo = rate;
    else hi = rate;
    rate = hi === Infinity ? lo * 2 : lo === 0 ? hi / 2 : Math.sqrt(lo * hi);
  }
  return { sustained: lo, broke: hi, steps };
}
