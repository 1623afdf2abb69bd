import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { FrameType, Metrics } from '../metrics.ts';
import { AppendFile } from '../store/append-file.ts';
import type { WriteHealth } from '../store/write-health.ts';
import { destinationDirectory, type LogDestination } from './destinations.ts';

const IDLE_CLOSE_MS = 60_000;

/**
 * Writes every message and event of a room that uses a logging configuration to that
 * configuration's local destination, one JSON object per line in the real record's shape:
 * {"event_timestamp","type","version","payload"}. The payload is the frame subscribers received,
 * spliced in as-is (it is already JSON). Files are <destination dir>/<room id>.jsonl.
 *
 * A record is written before its frame is published (broadcast.ts awaits append): what cannot be
 * logged is refused with a 500 rather than delivered and missing from the log. Writes are batched
 * per file (one write per burst, see AppendFile), in the order append was called, and never block
 * the event loop: each destination directory is created once, asynchronously, and again only
 * after a write in it failed (it may have been removed).
 */
export class ChatLog {
  private readonly files = new Map<string, AppendFile>();
  private readonly directories = new Map<string, Promise<void>>();
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(
    private readonly dataDir: string,
    private readonly metrics: Metrics,
    private readonly health: WriteHealth,
  ) {
    this.sweepTimer = setInterval(() => this.closeIdle(), IDLE_CLOSE_MS);
    this.sweepTimer.unref();
  }

  /** Undefined (no promise made) when the room logs nowhere, the common case. */
  append(destinations: readonly LogDestination[], roomId: string, type: FrameType, frame: string): Promise<void> | undefined {
    if (destinations.length === 0) return undefined;
    const line = `{"event_timestamp":"${new Date().toISOString()}","type":"${type}","version":"1.0","payload":${frame}}\n`;
    const writes: Promise<void>[] = [];
    for (const destination of destinations) {
      // Keyed without building the path: the path is worked out only when a file is opened.
      const key = `${destination.kind}\n${destination.name}\n${roomId}`;
      const file = this.files.get(key) ?? this.open(key, destination, roomId);
      const records = this.metrics.chatLogRecords.labels(destination.kind);
      writes.push(
        file.append(line).then(
          () => records.inc(),
          (error: unknown) => {
            // The directory may be what went missing: the next open creates it again.
            this.directories.delete(dirname(file.path));
            throw error;
          },
        ),
      );
    }
    return writes.length === 1 ? writes[0] : Promise.all(writes).then(() => undefined);
  }

  private open(key: string, destination: LogDestination, roomId: string): AppendFile {
    const directory = destinationDirectory(this.dataDir, destination);
    const file = new AppendFile(join(directory, `${roomId}.jsonl`), this.health, () => this.createDirectory(directory));
    this.files.set(key, file);
    return file;
  }

  private createDirectory(directory: string): Promise<void> {
    let created = this.directories.get(directory);
    if (!created) {
      created = mkdir(directory, { recursive: true }).then(
        () => undefined,
        (error: unknown) => {
          this.directories.delete(directory);
          throw error;
        },
      );
      this.directories.set(directory, created);
    }
    return created;
  }

  private closeIdle(): void {
    const cutoff = Date.now() - IDLE_CLOSE_MS;
    for (const [key, file] of this.files) {
      if (!file.busy && file.lastAppend < cutoff) {
        this.files.delete(key);
        void file.close();
      }
    }
    // A directory removed since it was created is created again by the next file opened in it.
    this.directories.clear();
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    const files = [...this.files.values()];
    this.files.clear();
    await Promise.all(files.map((file) => file.close()));
  }
}
