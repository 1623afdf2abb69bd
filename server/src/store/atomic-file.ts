import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** What the owner of an AtomicFile learns about each write. */
export interface AtomicFileEvents {
  written(): void;
  /** Returns the error the failed saves reject with. */
  failed(error: unknown): unknown;
}

/**
 * A file replaced atomically: write a temporary file, fsync it, rename it over the old one, fsync
 * the directory. A crash at any point leaves either the old or the new content, never a torn
 * file. Saves that arrive while a write runs are coalesced into one more write, which takes its
 * snapshot when it starts, so every caller's change is on disk when its promise resolves.
 * When a write fails, the saves queued behind it fail with it: their changes were made on top of
 * the failed one (the owner's memory holds both), so none of them may be acknowledged, and the
 * owner rolls its memory back to what the last good write holds (events.failed).
 */
export class AtomicFile {
  private pending: Deferred | undefined;
  private running = false;

  constructor(
    readonly path: string,
    private readonly snapshot: () => string,
    private readonly events: AtomicFileEvents = { written() {}, failed: (error) => error },
  ) {}

  async read(): Promise<string | undefined> {
    try {
      return await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  save(): Promise<void> {
    this.pending ??= deferred();
    const { promise } = this.pending;
    if (!this.running) void this.run();
    return promise;
  }

  private async run(): Promise<void> {
    this.running = true;
    while (this.pending) {
      const batch = this.pending;
      this.pending = undefined;
      try {
        await writeAtomically(this.path, this.snapshot());
        this.events.written();
        batch.resolve();
      } catch (error) {
        const queued = this.pending as Deferred | undefined;
        this.pending = undefined;
        const reason = this.events.failed(error);
        batch.reject(reason);
        queued?.reject(reason);
      }
    }
    this.running = false;
  }
}

/**
 * Removes the temporary files (`<name>.<pid>.tmp`) that writers of `path` left when they crashed
 * mid-write. They are never read, only replaced, so without this each crash leaves one behind for
 * good. Call it before this process writes `path`.
 */
export async function removeStaleTemporaries(path: string): Promise<void> {
  const prefix = `${basename(path)}.`;
  let names: string[];
  try {
    names = await readdir(dirname(path));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw error;
  }
  for (const name of names) {
    if (name.startsWith(prefix) && /^\d+\.tmp$/.test(name.slice(prefix.length))) {
      await rm(join(dirname(path), name), { force: true });
    }
  }
}

export async function writeAtomically(path: string, content: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  try {
    const file = await open(temporary, 'w', 0o600);
    try {
      await file.writeFile(content, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, path);
  } catch (error) {
    // A failed write must not leave its temporary behind (a full disk would stay full).
    await rm(temporary, { force: true }).catch(() => undefined);
    throw error;
  }
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
