import { closeSync, fstatSync, openSync, readSync, renameSync, writeSync } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { WriteHealth } from './write-health.ts';

/**
 * used-tokens.log, one "<id> <expiresAt>\n" line per used chat token, appended before the
 * handshake that spends the token is accepted.
 *
 * Appends are synchronous write(2)s of one short line into the page cache, not promises through
 * the thread pool: a promise append cost about 30 µs of CPU per handshake (measured, bench in
 * server/bench/used-token-log-bench.ts) against about 3 µs here, and handshakes arrive one per
 * event-loop turn, so batching them per turn saves nothing. A line is in the operating system
 * when append returns (a killed process forgets nothing; a power loss may forget the last moments,
 * as before: no fsync per line). The price is that a stalled disk stalls the event loop for the
 * length of one small write; the store.json and chat logs, whose writes are large, stay async.
 *
 * A failed append throws the StorageWriteError of health.failed and closes the file; the next
 * append opens it again, so the log recovers by itself once its path is writable again.
 */
export class UsedTokenLog {
  private fd: number | undefined;
  // A write that failed half-way may have left a torn line: the next write starts a fresh line,
  // so that the torn one cannot swallow the good line after it.
  private torn = false;
  /** Lines appended while a compaction writes its snapshot; they join the new file before it replaces this one. */
  private sinceSnapshot: string[] | undefined;
  private compacting: Promise<void> | undefined;

  constructor(
    readonly path: string,
    private readonly health: WriteHealth,
  ) {}

  /** Throws a StorageWriteError when the line could not be written. */
  append(line: string): void {
    try {
      if (this.fd === undefined) {
        this.fd = openSync(this.path, 'a+', 0o600);
        if (this.torn) this.torn = !endsWithNewline(this.fd);
      }
      const text = this.torn ? `\n${line}` : line;
      this.torn = true;
      // Lines are ASCII (base64url ids and digits): characters are bytes.
      if (writeSync(this.fd, text) !== text.length) throw new Error(`short write to ${this.path}`);
      this.torn = false;
    } catch (error) {
      this.closeFd();
      throw this.health.failed(this.path, error);
    }
    this.health.succeeded();
    this.sinceSnapshot?.push(line);
  }

  /**
   * Replaces the log with content() (taken now) plus the lines appended meanwhile: the snapshot is
   * written to a temporary file and fsynced off the event loop, then the lines appended since are
   * added and the file renamed over the log in one synchronous step, so no append can fall between
   * the two files. A crash at any point leaves the old log or the new one, each holding every line
   * appended before it. One compaction at a time: a call while one runs joins it.
   */
  compact(content: () => string): Promise<void> {
    this.compacting ??= this.rewrite(content).finally(() => {
      this.compacting = undefined;
    });
    return this.compacting;
  }

  private async rewrite(content: () => string): Promise<void> {
    const temporary = `${this.path}.${process.pid}.tmp`;
    this.sinceSnapshot = [];
    try {
      const file = await open(temporary, 'w', 0o600);
      try {
        await file.writeFile(content(), 'utf8');
        await file.sync();
      } finally {
        await file.close();
      }
      const fd = openSync(temporary, 'a');
      try {
        if (this.sinceSnapshot.length) writeSync(fd, this.sinceSnapshot.join(''));
      } finally {
        closeSync(fd);
      }
      renameSync(temporary, this.path);
      this.closeFd();
      this.torn = false;
    } catch (error) {
      // A failed compaction must not leave its temporary behind (a full disk would stay full); the old log stays valid.
      await rm(temporary, { force: true }).catch(() => undefined);
      throw this.health.failed(this.path, error);
    } finally {
      this.sinceSnapshot = undefined;
    }
    const directory = await open(dirname(this.path), 'r');
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
    this.health.succeeded();
  }

  async close(): Promise<void> {
    await this.compacting?.catch(() => undefined);
    this.closeFd();
  }

  private closeFd(): void {
    const fd = this.fd;
    this.fd = undefined;
    // A close that fails loses nothing: every line before it was written or reported failed.
    if (fd !== undefined) {
      try {
        closeSync(fd);
      } catch {
        // nothing to do
      }
    }
  }
}

/** True for an empty file too: nothing torn to close off. */
function endsWithNewline(fd: number): boolean {
  const { size } = fstatSync(fd);
  if (size === 0) return true;
  const byte = Buffer.alloc(1);
  readSync(fd, byte, 0, 1, size - 1);
  return byte[0] === 0x0a;
}
