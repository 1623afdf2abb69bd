// k6: only what the scripts use. k6's sleep blocks the VU; setup() runs outside the event loop's
// work here, so a blocking wait is the faithful stand-in.
export function sleep(seconds: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}
