import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { LoggingConfiguration, Room } from '../rooms/room.ts';
import { AtomicFile, removeStaleTemporaries } from './atomic-file.ts';
import type { Store } from './store.ts';
import { UsedTokenLog } from './used-token-log.ts';
import { writeHealths, type WriteHealth } from './write-health.ts';

interface StoreFile {
  version: 1;
  rooms: Room[];
  loggingConfigurations: LoggingConfiguration[];
}

const TOKEN_SWEEP_INTERVAL_MS = 60_000;

/**
 * The single-node store: state in memory, persisted under the data dir.
 * - rooms and logging configurations (tags included) in store.json, replaced atomically on
 *   every change; a control-plane call returns only once its change is on disk (fsynced). A change
 *   whose write fails is undone in memory and the call fails, so nobody sees it afterwards.
 * - used chat-token ids appended to used-tokens.log (one "<id> <expiresAt>" line each), so a token
 *   stays single-use across a restart. A handshake is accepted only once its line is written to
 *   the OS (synchronously, in the handshake's own callback, not fsynced: a killed process forgets
 *   nothing, a power loss may forget the last moments of handshakes, a trade made for connection
 *   throughput; see used-token-log.ts); if the line cannot be written the handshake fails. Expired ids are swept from memory every minute and the
 *   log is compacted when mostly stale.
 */
export class EmbeddedStore implements Store {
  private readonly rooms = new Map<string, Room>();
  private readonly loggingConfigurations = new Map<string, LoggingConfiguration>();
  private readonly usedTokens = new Map<string, number>();
  private readonly file: AtomicFile;
  private readonly tokenLog: UsedTokenLog;
  /** How to undo each change not yet known to be on disk, oldest first. */
  private undo: Array<() => void> = [];
  /** How many of `undo` the store.json write under way covers. */
  private undoCovered = 0;
  private tokenLogLines = 0;
  private sweepTimer: NodeJS.Timeout | undefined;

  private constructor(
    dataDir: string,
    private readonly persistUsedTokens: boolean,
    private readonly now: () => number,
    health: Record<'store' | 'token_log', WriteHealth>,
  ) {
    this.file = new AtomicFile(join(dataDir, 'store.json'), () => this.serialize(), {
      written: () => {
        this.undo.splice(0, this.undoCovered);
        this.undoCovered = 0;
        health.store.succeeded();
      },
      failed: (error) => {
        for (let i = this.undo.length - 1; i >= 0; i--) this.undo[i]!();
        this.undo = [];
        this.undoCovered = 0;
        return health.store.failed(this.file.path, error);
      },
    });
    this.tokenLog = new UsedTokenLog(join(dataDir, 'used-tokens.log'), health.token_log);
  }

  static async open(
    dataDir: string,
    options: { persistUsedTokens?: boolean; now?: () => number; health?: Record<'store' | 'token_log', WriteHealth> } = {},
  ): Promise<EmbeddedStore> {
    await mkdir(dataDir, { recursive: true });
    const store = new EmbeddedStore(dataDir, options.persistUsedTokens ?? true, options.now ?? Date.now, options.health ?? writeHealths());
    await store.load();
    return store;
  }

  private async load(): Promise<void> {
    await removeStaleTemporaries(this.file.path);
    await removeStaleTemporaries(this.tokenLog.path);
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
      const log = await new AtomicFile(this.tokenLog.path, () => '').read();
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
    this.undoCovered = this.undo.length;
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
    await this.change(this.rooms, room.id, structuredClone(room));
  }

  updateRoom(id: string, change: (room: Room) => Room): Promise<Room | undefined> {
    return this.update(this.rooms, id, change);
  }

  async deleteRoom(id: string): Promise<boolean> {
    if (!this.rooms.has(id)) return false;
    await this.change(this.rooms, id, undefined);
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
    await this.change(this.loggingConfigurations, configuration.id, structuredClone(configuration));
  }

  updateLoggingConfiguration(id: string, change: (configuration: LoggingConfiguration) => LoggingConfiguration): Promise<LoggingConfiguration | undefined> {
    return this.update(this.loggingConfigurations, id, change);
  }

  async deleteLoggingConfiguration(id: string): Promise<boolean> {
    if (!this.loggingConfigurations.has(id)) return false;
    await this.change(this.loggingConfigurations, id, undefined);
    return true;
  }

  /** Applies a change in memory at once (later calls build on it) and resolves once it is on disk. */
  /** Read, change and set happen in one synchronous stretch: no other request interleaves on this node. */
  private async update<T>(map: Map<string, T>, id: string, change: (record: T) => T): Promise<T | undefined> {
    const current = map.get(id);
    if (current === undefined) return undefined;
    const next = change(structuredClone(current));
    await this.change(map, id, structuredClone(next));
    return next;
  }

  private change<T>(map: Map<string, T>, id: string, value: T | undefined): Promise<void> {
    const previous = map.get(id);
    if (value === undefined) map.delete(id);
    else map.set(id, value);
    this.undo.push(() => {
      if (previous === undefined) map.delete(id);
      else map.set(id, previous);
    });
    return this.file.save();
  }

  /** Synchronous: the handshake's fast path accepts in the callback that received it. Throws a StorageWriteError when the record cannot be written. */
  consumeToken(tokenId: string, expiresAt: number): boolean {
    if (this.usedTokens.has(tokenId)) return false;
    if (this.persistUsedTokens) {
      // The handshake fails if this throws, so the token was not used: it may be tried again.
      this.tokenLog.append(`${tokenId} ${expiresAt}\n`);
      this.tokenLogLines++;
    }
    this.usedTokens.set(tokenId, expiresAt);
    return true;
  }

  private sweepTokens(): void {
    const now = this.now();
    for (const [id, expiresAt] of this.usedTokens) {
      if (expiresAt <= now) this.usedTokens.delete(id);
    }
    if (this.persistUsedTokens && this.tokenLogLines > 2 * this.usedTokens.size + 10_000) {
      // A failed compaction is counted and logged by the file's health; the old log stays valid.
      this.compactTokenLog().catch(() => undefined);
    }
  }

  /** Rewrites the log with only live ids; lines appended meanwhile follow. */
  private async compactTokenLog(): Promise<void> {
    await this.tokenLog.compact(() => {
      let content = '';
      for (const [id, expiresAt] of this.usedTokens) content += `${id} ${expiresAt}\n`;
      this.tokenLogLines = this.usedTokens.size;
      return content;
    });
  }

  async close(): Promise<void> {
    clearInterval(this.sweepTimer);
    // Every acknowledged change is on disk already; this waits for the writes still under way,
    // whose failure has been reported to their callers.
    await this.file.save().catch(() => undefined);
    await this.tokenLog.close();
  }
}
