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

/**
 * Runs a property and, on failure, throws a FuzzFailure that says what to replay: the seed, the
 * path, the (shrunk) counterexample with long values cut, and the error it raised.
 */
export async function checkProperty<T extends [unknown]>(
  only: 'ws' | 'http-requests' | 'http-bursts',
  property: fc.IAsyncPropertyWithHooks<T>,
  options: { runs: number; seed?: number; path?: string; shrink: boolean },
): Promise<void> {
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
      `replay: ${replay}`,
      `counterexample: ${JSON.stringify(abbreviate(counterexample), null, 2)}`,
      `error: ${error}`,
    ].join('\n'),
    details.seed,
    details.counterexamplePath,
    counterexample,
  );
}
