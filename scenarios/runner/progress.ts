// The live line. On a terminal it rewrites itself in place; in a log (CI) it prints a plain line
// every few seconds instead, so the log stays readable.

export class Progress {
  private lastPlain = 0;
  private shown = false;

  constructor(
    private readonly enabled: boolean,
    private readonly tty = Boolean(process.stderr.isTTY),
    private readonly plainEveryMs = 5000,
  ) {}

  update(line: string): void {
    if (!this.enabled) return;
    if (this.tty) {
      const width = process.stderr.columns || 160;
      process.stderr.write(`\r\x1b[2K${line.slice(0, width - 1)}`);
      this.shown = true;
      return;
    }
    const now = performance.now();
    if (now - this.lastPlain < this.plainEveryMs) return;
    this.lastPlain = now;
    process.stderr.write(`${line}\n`);
  }

  /** Prints a message on its own line without losing the live line. */
  note(message: string): void {
    if (this.tty && this.shown) process.stderr.write('\r\x1b[2K');
    process.stderr.write(`${message}\n`);
  }

  done(): void {
    if (this.tty && this.shown) process.stderr.write('\r\x1b[2K');
    this.shown = false;
  }
}
