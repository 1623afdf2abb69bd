// The runner's one time base: epoch milliseconds with sub-millisecond resolution. Workers stamp
// sends and deliveries with it, so the main thread must use the same clock (Date.now() is only
// whole milliseconds, performance.now() starts at each thread's own origin).
export const now = (): number => performance.timeOrigin + performance.now();
