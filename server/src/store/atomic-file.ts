import { mkdir, open, readFile, rename } from 'node:fs/promises';
import { dirname } from 'node:path';

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
  reject(error: unknown): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * A file replaced atomically: write a temporary file, fsync it, rename it over the old one, fsync
 * the directory. A crash at any point leaves either the old or the new content, never a torn
 * file. Saves that arrive while a write runs are coalesced into one more write, which takes its
 * snapshot when it starts, so every caller's change is on disk when its promise resolves.
 */
export class AtomicFile {
  private pending: Deferred | undefined;
  private running = false;

  constructor(
    readonly path: string,
    private readonly snapshot: () => string,
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
        batch.resolve();
      } catch (error) {
        batch.reject(error);
      }
    }
    this.running = false;
  }
}

export async function writeAtomically(path: string, content: string): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  const file = await open(temporary, 'w', 0o600);
  try {
    await file.writeFile(content, 'utf8');
    await file.sync();
  } finally {
    await file.close();
  }
  await rename(temporary, path);
  const directory = await open(dir, 'r');
  try {
    await directory.sync();
  } finally {
    await directory.close();
  }
}
