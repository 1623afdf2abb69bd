// TEST ONLY: the deliberately leaking server the soak verdict must catch (config.ts
// TEST_ONLY_FLAGS, --test-leak-kib-per-message). Never reached unless a test passes that flag.

const retained: number[][] = [];

/** Keeps `kib` KiB of JavaScript heap alive for the life of the process: heap used and RSS both grow. */
export function leakForTest(kib: number): void {
  // A packed array of doubles lives on the V8 heap (a Buffer would be off-heap and move RSS only);
  // distinct values so that no page stays shared or zero.
  const doubles = new Array<number>((kib * 1024) / 8);
  for (let i = 0; i < doubles.length; i++) doubles[i] = retained.length + i + 0.5;
  retained.push(doubles);
}
