import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoggingConfiguration, Room } from '../rooms/room.ts';
import { AtomicFile, removeStaleTemporaries, writeAtomically } from './atomic-file.ts';
import type { Store } from './store.ts';

interface StoreFile {
  version: 1;
  rooms: Room[];
  loggingConfigurations: LoggingConfiguration[];
}

const TOKEN_SWEEP_INTERVAL_MS = 60_000;

/**
 * The single-node store: state in memory, persisted under the data dir.
 * - rooms and logging configurations (tags included) in store.json, replaced atomically on
 *   every change; a control-plane call returns only once its change is on disk.
 * - used chat-token ids appended to used-tokens.log (one "<id> <expiresAt>" line each), so a token
 *   stays single-use across a restart. Appends are buffered, not fsynced per handshake: a crash
 *   can forget the last few milliseconds of handshakes, a trade made for connection throughput.
 *   Expired ids are swept from memory every minute and the log is compacted when mostly stale.
 */
export class EmbeddedStore implements Store {
  private readonly rooms = new Map<string, Room>();
  private readonly loggingConfigurations = new Map<string, LoggingConfiguration>();
  private readonly usedTokens = new Map<string, number>();
  private readonly file: AtomicFile;
  private readonly tokenLogPath: string;
  private tokenLog: WriteStream | undefined;
  private tokenLogLines = 0;
  private tokenLogCorked = false;
  private compacting: string[] | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;

  private constructor(
    dataDir: string,
    private readonly persistUsedTokens: boolean,
    private readonly now: () => number,
  ) {
    this.file = new AtomicFile(join(dataDir, 'store.json'), () => this.serialize());
    this.tokenLogPath = join(dataDir, 'used-tokens.log');
  }

  static async open(
    dataDir: string,
    options: { persistUsedTokens?: boolean; now?: () => number } = {},
  ): Promise<EmbeddedStore> {
    await mkdir(dataDir, { recursive: true });
    const store = new EmbeddedStore(dataDir, options.persistUsedTokens ?? true, options.now ?? Date.now);
    await store.load();
    return store;
  }

  private async load(): Promise<void> {
    await removeStaleTemporaries(this.file.path);
    await removeStaleTemporaries(this.tokenLogPath);
    const text = await this.file.read();
    if (text !== undefined) {
      let data: StoreFile;
      try {
        data = JSON.parse(text) as StoreFile;
      } catch (error) {
        throw new Error(`${this.file.path} is not valid JSON (${(error as Error).message}); refusing to start over it`);
      }
      if (data.version !== 1) throw new Error(`${this.file.path}: unsupported store version ${String(data.version)}`);
      for (const room of data.rooms) this.rooms.set(room.id, room);
      for (const configuration of data.loggingConfigurations) {
        this.loggingConfigurations.set(configuration.id, configuration);
      }
    }
    if (this.persistUsedTokens) {
      const log = await new AtomicFile(this.tokenLogPath, () => '').read();
      const now = this.now();
      for (const line of log?.split('\n') ?? []) {
        const [id, expiresAt] = line.split(' ');
        const expiry = Number(expiresAt);
        // A torn last line (crash mid-append) fails these checks and is dropped.
        if (id && Number.isFinite(expiry) && expiry > now) this.usedTokens.set(id, expiry);
      }
      await this.compactTokenLog();
    }
    this.sweepTimer = setInterval(() => this.sweepTokens(), TOKEN_SWEEP_INTERVAL_MS);
    this.sweepTimer.unref();
  }

  private serialize(): string {
    const data: StoreFile = {
      version: 1,
      rooms: [...this.rooms.values()],
      loggingConfigurations: [...this.loggingConfigurations.values()],
    };
    return JSON.stringify(data, null, 1);
  }

  async getRoom(id: string): Promise<Room | undefined> {
    const room = this.rooms.get(id);
    return room && structuredClone(room);
  }

  async listRooms(): Promise<Room[]> {
    return structuredClone([...this.rooms.values()]);
  }

  async countRooms(): Promise<number> {
    return this.rooms.size;
  }

  async putRoom(room: Room): Promise<void> {
    this.rooms.set(room.id, structuredClone(room));
    await this.file.save();
  }

  async deleteRoom(id: string): Promise<boolean> {
    if (!this.rooms.delete(id)) return false;
    await this.file.save();
    return true;
  }

  async getLoggingConfiguration(id: string): Promise<LoggingConfiguration | undefined> {
    const configuration = this.loggingConfigurations.get(id);
    return configuration && structuredClone(configuration);
  }

  async listLoggingConfigurations(): Promise<LoggingConfiguration[]> {
    return structuredClone([...this.loggingConfigurations.values()]);
  }

  async putLoggingConfiguration(configuration: LoggingConfiguration): Promise<void> {
    this.loggingConfigurations.set(configuration.id, structuredClone(configuration));
    await this.file.save();
  }

  async deleteLoggingConfiguration(id: string): Promise<boolean> {
    if (!this.loggingConfigurations.delete(id)) return false;
    await this.file.save();
    return true;
  }

  async consumeToken(tokenId: string, expiresAt: number): Promise<boolean> {
    if (this.usedTokens.has(tokenId)) return false;
    this.usedTokens.set(tokenId, expiresAt);
    if (this.persistUsedTokens) this.appendTokenLine(`${tokenId} ${expiresAt}\n`);
    return true;
  }

  private appendTokenLine(line: string): void {
    if (this.compacting) {
      this.compacting.push(line);
      return;
    }
    const log = (this.tokenLog ??= createWriteStream(this.tokenLogPath, { flags: 'a' }));
    // Handshakes come in bursts: gather one event-loop turn of lines into a single write.
    if (!this.tokenLogCorked) {
      log.cork();
      this.tokenLogCorked = true;
      setImmediate(() => {
        this.tokenLogCorked = false;
        log.uncork();
      });
    }
    log.write(line);
    this.tokenLogLines++;
  }

  private sweepTokens(): void {
    const now = this.now();
    for (const [id, expiresAt] of this.usedTokens) {
      if (expiresAt <= now) this.usedTokens.delete(id);
    }
    if (this.persistUsedTokens && this.tokenLogLines > 2 * this.usedTokens.size + 10_000) {
      void this.compactTokenLog();
    }
  }

  /** Rewrites the log with only live ids; lines that arrive meanwhile wait and follow. */
  private async compactTokenLog(): Promise<void> {
    if (this.compacting) return;
    this.compacting = [];
    try {
      await this.closeTokenLog();
      let content = '';
      for (const [id, expiresAt] of this.usedTokens) content += `${id} ${expiresAt}\n`;
      await writeAtomically(this.tokenLogPath, content);
      this.tokenLogLines = this.usedTokens.size;
    } finally {
      const waiting = this.compacting;
      this.compacting = undefined;
      for (const line of waiting) this.appendTokenLine(line);
    }
  }

  private closeTokenLog(): Promise<void> {
    const stream = this.tokenLog;
    this.tokenLog = undefined;
    if (!stream) return Promise.resolve();
    return new Promise((resolve, reject) => {
      stream.once('error', reject);
      stream.end(() => resolve());
    });
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    await this.file.save();
    await this.closeTokenLog();
  }
}
