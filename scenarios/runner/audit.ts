import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { ChatLogAudit, type ViewerFigures } from '../lib/chat-log-audit.ts';
import type { DeliveryLedger } from '../lib/delivery-ledger.ts';
import type { RoomRef } from '../lib/ports.ts';
import type { AuditResult } from '../lib/results.ts';
import { ROLE_CHATTER, type RoomLayout } from '../lib/schedule.ts';

// --audit, the file side: where the server's chat log of this run is, when it is complete, and
// reading it room by room into the pure check (lib/chat-log-audit.ts).

export interface AuditTarget {
  /** The server's logs directory (<its data dir>/logs): files are <kind>/<destination>/<room id>.jsonl. */
  logsDir: string;
  /**
   * Resolves once every record the server will write for this run is on disk; rejects with the
   * reason when that cannot be known. `files` are the room logs the audit is about to read.
   */
  logComplete(files: string[]): Promise<void>;
}

/** One S3-style destination per run, so the audit reads only this run's rooms. Bucket names: [a-z0-9-.]. */
export function auditBucket(runId: string): string {
  return `chatstorm-audit-${runId.toLowerCase()}`;
}

export function roomLogFile(logsDir: string, bucket: string, roomId: string): string {
  return path.join(logsDir, 's3', bucket, `${roomId}.jsonl`);
}

const DESTINATION_KINDS = ['s3', 'cloudwatch-logs', 'firehose'];

/**
 * `--audit-log-dir DIR`: the server's data dir, or its logs/ directory itself (which exists once
 * anything was logged, and then holds a directory per destination kind). Decided before the run,
 * when a fresh data dir has no logs/ yet.
 */
export function resolveLogsDir(dir: string): string {
  return DESTINATION_KINDS.some((kind) => existsSync(path.join(dir, kind))) ? dir : path.join(dir, 'logs');
}

/**
 * For a server this runner did not start (and cannot stop to flush it): the log counts as complete
 * once the run's files have not changed size for `quietMs`. The chat log writes each record as it
 * is published, so a quiet log after the last viewer left is a finished one.
 */
export async function waitForQuietLog(files: string[], quietMs = 2000, maxMs = 30_000): Promise<void> {
  const sizes = () => files.map((f) => (existsSync(f) ? statSync(f).size : -1)).join(',');
  const started = Date.now();
  let last = sizes();
  let quietSince = Date.now();
  while (Date.now() - quietSince < quietMs) {
    if (Date.now() - started > maxMs) throw new Error(`the chat log was still growing ${maxMs / 1000} s after the run ended`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = sizes();
    if (now !== last) {
      last = now;
      quietSince = Date.now();
    }
  }
}

function readLines(file: string): string[] | null {
  if (!existsSync(file)) return null;
  const text = readFileSync(file, 'utf8');
  if (text === '') return [];
  const lines = text.split('\n');
  // Every record ends with a newline; a last line without one is a torn write and stays in, to be judged.
  if (lines[lines.length - 1] === '') lines.pop();
  return lines;
}

export interface AuditInput {
  target: AuditTarget;
  bucket: string;
  rooms: readonly RoomRef[];
  layout: RoomLayout;
  ledger: DeliveryLedger;
  moderations: readonly (readonly [number, string, number])[];
  viewers: ViewerFigures;
}

export async function auditChatLog(i: AuditInput): Promise<AuditResult> {
  const files = i.rooms.map((room) => roomLogFile(i.target.logsDir, i.bucket, room.id));
  const source = path.dirname(files[0] ?? roomLogFile(i.target.logsDir, i.bucket, 'x'));
  const notes: string[] = [];
  try {
    await i.target.logComplete(files);
  } catch (error) {
    notes.push(`the chat log may be incomplete: ${(error as Error).message}`);
  }
  // Who chats where, from the layout's own answer per viewer (a replay's rooms have uneven senders).
  const { layout } = i;
  const senders: number[][] = i.rooms.map(() => []);
  for (let v = 0; v < layout.chatters; v++) if (layout.roleOf(v) === ROLE_CHATTER) senders[layout.roomOf(v)]?.push(v);
  const audit = new ChatLogAudit({
    rooms: i.rooms.length,
    sendersOf: (room) => senders[room] ?? [],
    sendsOf: (sender) => i.ledger.sendsOf(sender),
    moderations: i.moderations,
  });
  files.forEach((file, room) => audit.addRoom(room, readLines(file)));
  return audit.finish(source, i.viewers, notes);
}
