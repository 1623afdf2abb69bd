// Input classes that fail because of limits chatstorm cannot reach. The fuzzer still generates
// them (`npm run fuzz` reports them); the short pass in `npm test` and `--skip-known` leave out
// exactly these. A defect found by the fuzzer and fixed has no entry here: its class runs everywhere.

export const KNOWN_DEFECTS = {
  /**
   * uWebSockets.js neither answers nor closes an HTTP/1.0 request or a head it cannot parse
   * (request line without a version it knows, a header line without a colon, NUL bytes) until its
   * ~10–12 s HTTP timeout. No JavaScript runs for such a head, so chatstorm cannot answer it: an
   * engine limit pinned by engine-edges.test.ts and listed in the README's "Known limitations".
   * Left out of the short pass because each case waits for that timeout.
   */
  'unanswered-heads': 'HTTP/1.0 requests and malformed heads get no answer, only a close after the engine’s HTTP timeout',
} as const;

export type KnownDefect = keyof typeof KNOWN_DEFECTS;
export const ALL_KNOWN_DEFECTS = Object.keys(KNOWN_DEFECTS) as KnownDefect[];
