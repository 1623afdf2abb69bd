import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { join } from 'node:path';
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
  ) {
    this.sweepTimer = setInterval(() => this.closeIdle(), IDLE_CLOSE_MS);
    this.sweepTimer.unref();
  }

  append(destinations: readonly LogDestination[], roomId: string, type: FrameType, frame: string): void {
    if (destinations.length === 0) return;
    const line = `{"event_timestamp":"${new Date().toISOString()}","type":"${type}","version":"1.0","payload":${frame}}\n`;
    const now = Date.now();
    for (const destination of destinations) {
      const path = join(destinationDirectory(this.dataDir, destination), `${roomId}.jsonl`);
      let file = this.files.get(path);
      if (!file) {
        mkdirSync(destinationDirectory(this.dataDir, destination), { recursive: true });
        file = { stream: createWriteStream(path, { flags: 'a' }), lastWrite: now };
        file.stream.on('error', () => this.files.delete(path));
        this.files.set(path, file);
      }
      file.stream.write(line);
      file.lastWrite = now;
      this.metrics.chatLogRecords.labels(destination.kind).inc();
    }
  }

  private closeIdle(): void {
    const cutoff = Date.now() - IDLE_CLOSE_MS;
    for (const [path, file] of this.files) {
      if (file.lastWrite < cutoff) {
        file.stream.end();
        this.files.delete(path);
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
