import type { Logger } from '../log.ts';
import type { Metrics, StorageFile } from '../metrics.ts';

/** At most one error line (and one recovery line) per file kind in this window, however many writes fail. */
const LOG_WINDOW_MS = 30_000;

/**
 * A write to the data dir failed, so what it carried was not persisted. Callers refuse the request
 * with the protocol's 500; the failure has been logged and counted already, so they do not log it.
 */
export class StorageWriteError extends Error {
  override name = 'StorageWriteError';
  constructor(
    readonly file: StorageFile,
    readonly path: string,
    cause: unknown,
  ) {
    super(`cannot write ${path}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Counts and reports the failed writes of one kind of file. A full disk or a broken path fails every
 * write for a while: the first failure of such a burst is logged, the rest only counted (a summary
 * line at most every 30 s), and the first success afterwards says the file is writable again.
 */
export class WriteHealth {
  private failing = false;
  private suppressed = 0;
  private lastErrorLog = -Infinity;
  private lastRecoveryLog = -Infinity;
  private readonly errors: { inc(): void };

  constructor(
    readonly file: StorageFile,
    metrics: Metrics | undefined,
    private readonly log: Logger | undefined,
  ) {
    this.errors = metrics?.storageWriteErrors.labels(file) ?? { inc() {} };
  }

  failed(path: string, error: unknown): StorageWriteError {
    this.errors.inc();
    this.failing = true;
    const now = Date.now();
    if (now - this.lastErrorLog >= LOG_WINDOW_MS) {
      this.log?.error(
        { err: error, file: this.file, path, failedWritesNotLogged: this.suppressed },
        `cannot write the ${this.file}: requests that need it are refused with 500 until it is writable again`,
      );
      this.lastErrorLog = now;
      this.suppressed = 0;
    } else {
      this.suppressed++;
    }
    return new StorageWriteError(this.file, path, error);
  }

  succeeded(): void {
    if (!this.failing) return;
    this.failing = false;
    const now = Date.now();
    if (now - this.lastRecoveryLog >= LOG_WINDOW_MS) {
      this.log?.warn({ file: this.file }, `the ${this.file} is writable again`);
      this.lastRecoveryLog = now;
    }
  }
}

/** One WriteHealth per kind of file, sharing the metric and the logger. */
export function writeHealths(metrics?: Metrics, log?: Logger): Record<StorageFile, WriteHealth> {
  return {
    store: new WriteHealth('store', metrics, log),
    token_log: new WriteHealth('token_log', metrics, log),
    chat_log: new WriteHealth('chat_log', metrics, log),
  };
}
