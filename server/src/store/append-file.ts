import { open, type FileHandle } from 'node:fs/promises';
import { deferred, writeAtomically, type Deferred } from './atomic-file.ts';
import type { WriteHealth } from './write-health.ts';

/**
 * A file of lines, appended to. Lines that arrive while a write runs are gathered into the next
 * write (one system call for a burst), and each append's promise settles once its line is written
 * to the operating system: it survives the process being killed, not a power loss (no fsync per
 * line). A failed write rejects its lines with a StorageWriteError and closes the file; the next
 * append opens it again, so the file recovers by itself once its path is writable again.
 * Nothing here blocks the event loop: every file operation is asynchronous.
 */
export class AppendFile {
  private handle: FileHandle | undefined;
  private lines: string[] = [];
  private pending: Deferred | undefined;
  private replacement: { content: () => string; done: Deferred } | undefined;
  private running = false;
  private loop: Promise<void> = Promise.resolve();
  // A write that failed half-way may have left a torn line: the next write starts a fresh line,
  // so that the torn one cannot swallow the good line after it.
  private torn = false;
  /** Date.now() of the last append, for closing idle files. */
  lastAppend = 0;

  constructor(
    readonly path: string,
    private readonly health: WriteHealth,
    /** Runs before the file is opened (e.g. creating its directory); a failure fails the write. */
    private readonly prepare: () => Promise<void> = () => Promise.resolve(),
  ) {}

  get busy(): boolean {
    return this.running;
  }

  append(line: string): Promise<void> {
    this.lines.push(line);
    this.lastAppend = Date.now();
    this.pending ??= deferred();
    const { promise } = this.pending;
    this.start();
    return promise;
  }

  /**
   * Replaces the whole file atomically with content(), taken when the replacement starts; lines
   * appended meanwhile are written after it.
   */
  replace(content: () => string): Promise<void> {
    this.replacement ??= { content, done: deferred() };
    const { promise } = this.replacement.done;
    this.start();
    return promise;
  }

  /** Waits for the writes under way, then closes the file (a later append reopens it). */
  async close(): Promise<void> {
    while (this.running) await this.loop;
    await this.closeHandle();
  }

  private start(): void {
    if (!this.running) this.loop = this.run();
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.pending || this.replacement) {
      if (this.replacement) {
        const { content, done } = this.replacement;
        this.replacement = undefined;
        try {
          await this.closeHandle();
          await writeAtomically(this.path, content());
          this.torn = false;
          this.health.succeeded();
          done.resolve();
        } catch (error) {
          done.reject(this.health.failed(this.path, error));
        }
        continue;
      }
      const batch = this.pending!;
      let text = this.lines.join('');
      this.lines = [];
      this.pending = undefined;
      try {
        if (!this.handle) {
          await this.prepare();
          this.handle = await open(this.path, 'a+', 0o600);
          if (this.torn) this.torn = !(await endsWithNewline(this.handle));
        }
        if (this.torn) text = `\n${text}`;
        this.torn = true;
        await this.handle.appendFile(text, 'utf8');
        this.torn = false;
        this.health.succeeded();
        batch.resolve();
      } catch (error) {
        await this.closeHandle();
        batch.reject(this.health.failed(this.path, error));
      }
    }
    this.running = false;
  }

  private async closeHandle(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    // A close that fails loses nothing: every write before it has already settled.
    await handle?.close().catch(() => undefined);
  }
}

/** True for an empty file too: nothing torn to close off. */
async function endsWithNewline(handle: FileHandle): Promise<boolean> {
  const { size } = await handle.stat();
  if (size === 0) return true;
  const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, size - 1);
  return buffer[0] === 0x0a;
}
