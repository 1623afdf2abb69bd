// Counts of what a fuzz run tried, by input class and by outcome, for progress lines and the summary.

export class FuzzStats {
  readonly classes = new Map<string, number>();
  readonly outcomes = new Map<string, number>();
  /** WebSocket frames written (steps may write several) and HTTP requests sent. */
  frames = 0;
  requests = 0;
  readonly startedAt = Date.now();

  count(cls: string): void {
    this.classes.set(cls, (this.classes.get(cls) ?? 0) + 1);
  }

  outcome(label: string): void {
    this.outcomes.set(label, (this.outcomes.get(label) ?? 0) + 1);
  }

  toJSON() {
    return {
      frames: this.frames,
      requests: this.requests,
      seconds: (Date.now() - this.startedAt) / 1000,
      classes: Object.fromEntries([...this.classes].sort()),
      outcomes: Object.fromEntries([...this.outcomes].sort()),
    };
  }
}

/** A value for a failure report: long strings and buffers cut, so a 16 KiB input stays readable. */
export function abbreviate(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return value.length > 160 ? `${value.slice(0, 120)}…(${value.length} chars)…${value.slice(-20)}` : value;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) {
    const hex = Buffer.from(value).toString('hex');
    return hex.length > 160 ? `<${value.length} bytes ${hex.slice(0, 120)}…>` : `<${value.length} bytes ${hex}>`;
  }
  if (depth > 6 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => abbreviate(v, depth + 1));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, abbreviate(v, depth + 1)]));
}
