import fc from 'fast-check';
import { abbreviate } from './stats.ts';
import type { FuzzTarget } from './target.ts';

export class FuzzFailure extends Error {
  override name = 'FuzzFailure';
  constructor(
    message: string,
    readonly seed: number,
    readonly path: string | null,
    readonly counterexample: unknown,
  ) {
    super(message);
  }
}

export function checkAlive(target: FuzzTarget): void {
  const exit = target.exitStatus();
  if (exit !== undefined) throw new Error(`the server died (${exit}); its last output:\n${target.output().slice(-4000)}`);
}

/** How long shrinking may take: each try of an input that hangs waits out the whole bound. */
const SHRINK_BUDGET_MS = 60_000;

/**
 * Runs `body` on inputs from `arbitrary` and, on failure, throws a FuzzFailure that says what to
 * replay: the seed, the path, the (shrunk) counterexample with long values cut, and the error it
 * raised. Past the shrink budget every further try counts as a pass, which ends shrinking with the
 * smallest failure found so far.
 */
export async function checkProperty<T>(
  only: 'ws' | 'http-requests' | 'http-bursts',
  arbitrary: fc.Arbitrary<T>,
  body: (input: T) => Promise<void>,
  options: { runs: number; seed?: number; path?: string; shrink: boolean },
): Promise<void> {
  let failedAt: number | undefined;
  const property = fc.asyncProperty(arbitrary, async (input) => {
    if (failedAt !== undefined && performance.now() - failedAt > SHRINK_BUDGET_MS) return;
    try {
      await body(input);
    } catch (error) {
      failedAt ??= performance.now();
      throw error;
    }
  });
  const details = await fc.check(property, {
    numRuns: options.runs,
    seed: options.seed,
    path: options.path,
    endOnFailure: !options.shrink,
  });
  if (!details.failed) return;
  const [counterexample] = details.counterexample ?? [undefined];
  const error = details.errorInstance instanceof Error ? (details.errorInstance.stack ?? details.errorInstance.message) : String(details.errorInstance);
  const replay = `npm run fuzz -- --only ${only} --seed ${details.seed}${details.counterexamplePath ? ` --path ${details.counterexamplePath}` : ''}`;
  throw new FuzzFailure(
    [
      `${only} fuzzing failed after ${details.numRuns} inputs (${details.numShrinks} shrinks)`,
      `seed: ${details.seed}  path: ${details.counterexamplePath}`,
      `replay: ${replay}  (in npm test: CHATSTORM_FUZZ_SEED=${details.seed})`,
      `counterexample: ${JSON.stringify(abbreviate(counterexample), null, 2)}`,
      `error: ${error}`,
    ].join('\n'),
    details.seed,
    details.counterexamplePath,
    counterexample,
  );
}
