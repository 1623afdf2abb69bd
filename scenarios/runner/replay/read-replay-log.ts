import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { roomOfPath, type LogSource } from '../../lib/replay/replay-log.ts';

// Reads a chat log from where IVS Chat's logging configurations deliver it, as text for
// lib/replay/replay-log.ts: one file; a directory, walked (an S3 prefix synced down, a CloudWatch
// Logs export, chatstorm's <data dir>/logs/<kind>/<name>/); gzip-compressed objects (.gz), which
// is how S3 and CloudWatch exports store them. The room comes from the layout (roomOfPath).

function readText(file: string): string {
  const bytes = readFileSync(file);
  // gzip by its magic number, whatever the name says (exports are not always named .gz).
  if (bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b) {
    try {
      return gunzipSync(bytes).toString('utf8');
    } catch (error) {
      // Counted as one malformed line, like any other unreadable record.
      return `<unreadable gzip ${path.basename(file)}: ${(error as Error).message}>\n`;
    }
  }
  return bytes.toString('utf8');
}

function walk(dir: string, out: string[]): void {
  for (const entry of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    if (entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) walk(full, out);
    else if (entry.isFile()) out.push(full);
  }
}

export function readReplayLog(location: string, room?: string): LogSource[] {
  let stat;
  try {
    stat = statSync(location);
  } catch {
    throw new Error(`--replay ${location}: no such file or directory`);
  }
  if (stat.isFile()) return [{ room: room ?? roomOfPath(path.basename(location)), text: readText(location) }];
  const files: string[] = [];
  walk(location, files);
  if (files.length === 0) throw new Error(`--replay ${location}: the directory holds no files`);
  return files.map((file) => ({ room: room ?? roomOfPath(path.relative(location, file)), text: readText(file) }));
}
