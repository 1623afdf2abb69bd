import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from '../log.ts';
import type { FrameType, Metrics } from '../metrics.ts';
import { destinationDirectory, type LogDestination } from './destinations.ts';

const IDLE_CLOSE_MS = 60_000;

interface OpenFile {
  stream: WriteStream;
  lastWrite: number;
}

/**
 * Writes every message and event of a room that uses a logging configuration to that
 * configuration's local destination, one JSON object per line in the real record's shape:
 * {"event_timestamp","type","version","payload"}. The payload is the frame subscribers received,
 * spliced in as-is (it is already JSON). Files are <destination dir>/<room id>.jsonl.
 */
export class ChatLog {
  private readonly files = new Map<string, OpenFile>();
  private readonly sweepTimer: NodeJS.Timeout;

  constructor(
    private readonly dataDir: string,
    private readonly metrics: Metrics,
    private readonly log: Logger,
  ) {
    this.sweepTimer = setInterval(() => this.closeIdle(), IDLE_CLOSE_MS);
    this.sweepTimer.unref();
  }

  append(destinations: readonly LogDestination[], roomId: string, type: FrameType, frame: string): void {
    if (destinations.length === 0) return;
    const line = `{"event_timestamp":"${new Date().toISOString()}","type":"${type}","version":"1.0","payload":${frame}}\n`;
    const now = Date.now();
    for (const destination of destinations) {
      // Keyed without building the path: the path is worked out only when a file is opened.
      const key = `${destination.kind}\n${destination.name}\n${roomId}`;
      let file = this.files.get(key);
      if (!file) file = this.open(key, destination, roomId, now);
      file.stream.write(line);
      file.lastWrite = now;
      this.metrics.chatLogRecords.labels(destination.kind).inc();
    }
  }

  private open(key: string, destination: LogDestination, roomId: string, now: number): OpenFile {
    const directory = destinationDirectory(this.dataDir, destination);
    const path = join(directory, `${roomId}.jsonl`);
    mkdirSync(directory, { recursive: true });
    const file = { stream: createWriteStream(path, { flags: 'a' }), lastWrite: now };
    file.stream.on('error', (err) => {
      // Records after a write error are lost for this file: say so loudly, and reopen on the next record.
      this.log.error({ err, path }, 'chat log write failed');
      if (this.files.get(key) === file) this.files.delete(key);
    });
    this.files.set(key, file);
    return file;
  }

  private closeIdle(): void {
    const cutoff = Date.now() - IDLE_CLOSE_MS;
    for (const [key, file] of this.files) {
      if (file.lastWrite < cutoff) {
        file.stream.end();
        this.files.delete(key);
      }
    }
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    const ends = [...this.files.values()].map(
      ({ stream }) => new Promise<void>((resolve) => stream.end(() => resolve())),
    );
    this.files.clear();
    await Promise.all(ends);
  }
}
