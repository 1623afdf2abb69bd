import type { RunResult } from '../lib/results.ts';
import { applySoakVerdict, judgeSoak } from '../lib/soak-verdict.ts';
import type { ServerWatch } from './server-scrape.ts';

// The seam between a run and the soak verdict: the server's series go on every result that has
// them; a soak profile's result is also judged (and fails on a leak, a drift or a loss).

export function addServerSeries(result: RunResult, watch: ServerWatch | undefined, startAt: number, loadEndSeconds: number, partial = false): void {
  const series = watch?.series(startAt) ?? [];
  if (watch) result.serverSeries = series;
  if (!result.profile.soak) return;
  applySoakVerdict(
    result,
    judgeSoak({
      profile: result.profile,
      series,
      timeline: result.timeline,
      loadEndSeconds,
      missing: result.deliveries.missing,
      expected: result.deliveries.expected,
      partial,
    }),
  );
}
