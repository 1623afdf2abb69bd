// Reads chat logs in the IVS Chat logging record shape — one JSON object per line,
// {"event_timestamp","type":"MESSAGE"|"EVENT","version","payload":<the frame subscribers got>} —
// into recorded rooms. Pure: engines hand in text (a file, a gunzipped S3 object, a CloudWatch
// Logs export), this module never reads anything itself. A bad line is counted with its reason and
// skipped; only a log whose every line is bad is refused, since then it is not a chat log at all.

export interface RecordedMessage {
  /** Epoch ms (fractional) from the payload's SendTime, else the record's event_timestamp. */
  at: number;
  id: string;
  senderId: string;
  content: string;
  attributes: Record<string, string>;
  /** Where it was in the input, to keep equal timestamps in recorded order. */
  line: number;
}

export interface RecordedEvent {
  at: number;
  id: string;
  eventName: string;
  /** "" when raised through the HTTP API, the moderator's RequestId for WebSocket actions. */
  requestId: string;
  attributes: Record<string, string>;
  line: number;
}

export interface RecordedRoom {
  name: string;
  messages: RecordedMessage[];
  events: RecordedEvent[];
}

export interface LogSource {
  /** The room this text belongs to (from the destination's layout or --room). */
  room: string;
  text: string;
}

export const MALFORMED_REASONS = [
  'not JSON',
  'not a record object',
  'unknown type',
  'no payload',
  'no sender',
  'no content',
  'no event name',
  'bad timestamp',
] as const;
export type MalformedReason = (typeof MALFORMED_REASONS)[number];

export interface ParsedLog {
  rooms: RecordedRoom[];
  lines: number;
  records: number;
  /** Same Id twice in one room (one room logged to several destinations): kept once. */
  duplicates: number;
  malformed: Partial<Record<MalformedReason, number>>;
  /** The first few bad lines, for the report: "<room>:<line>: <reason>". */
  examples: string[];
}

export class ReplayLogError extends Error {
  override name = 'ReplayLogError';
}

const ROOM_IN_PATH = /room_([A-Za-z0-9]+)/;

/**
 * The room a log file belongs to, from where the service put it: "room_<id>" anywhere in the path
 * (the real service's S3 keys and log streams), else the file's name less its extensions
 * (chatstorm's "<room id>.jsonl").
 */
export function roomOfPath(relative: string): string {
  const m = ROOM_IN_PATH.exec(relative);
  if (m) return m[1]!;
  const base = relative.slice(Math.max(relative.lastIndexOf('/'), relative.lastIndexOf('\\')) + 1);
  return base.replace(/(\.(jsonl|json|log|txt|gz))+$/i, '') || base;
}

const NUMERIC = /^\d+(\.\d+)?$/;
const ISO = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/;

/**
 * Epoch ms from an ISO-8601 time with any number of fractional digits (real frames carry
 * nanoseconds, which Date.parse does not promise to read), or from epoch digits in s, ms, µs or ns.
 */
export function parseLogTime(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? epochDigits(value) : undefined;
  if (typeof value !== 'string') return undefined;
  if (NUMERIC.test(value)) return epochDigits(Number(value));
  const m = ISO.exec(value);
  if (!m) return undefined;
  const whole = Date.parse(`${m[1]}${m[3]}`);
  if (!Number.isFinite(whole)) return undefined;
  const fraction = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return whole + fraction;
}

function epochDigits(n: number): number {
  if (n >= 1e17) return n / 1e6; // ns
  if (n >= 1e14) return n / 1e3; // µs
  if (n >= 1e11) return n; // ms
  return n * 1000; // s
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stringMap(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(value)) return out;
  for (const key of Object.keys(value)) {
    const v = value[key];
    if (typeof v === 'string') out[key] = v;
    else if (typeof v === 'number' || typeof v === 'boolean') out[key] = String(v);
  }
  return out;
}

/** A CloudWatch Logs export line is "<timestamp> <json>"; a plain line is the JSON alone. */
function jsonPart(line: string): string {
  if (line.charCodeAt(0) === 123 /* { */) return line;
  const brace = line.indexOf(' {');
  return brace >= 0 ? line.slice(brace + 1) : line;
}

type LineResult = { kind: 'message'; m: RecordedMessage } | { kind: 'event'; e: RecordedEvent } | { kind: 'bad'; reason: MalformedReason };

function readLine(line: string, index: number): LineResult {
  let record: unknown;
  try {
    record = JSON.parse(jsonPart(line));
  } catch {
    return { kind: 'bad', reason: 'not JSON' };
  }
  if (!isObject(record)) return { kind: 'bad', reason: 'not a record object' };
  // Accept a bare frame too (what a subscriber sees), as some exporters drop the envelope.
  const payload = 'payload' in record ? record.payload : 'Type' in record ? record : undefined;
  if (!isObject(payload)) return { kind: 'bad', reason: 'no payload' };
  const type = typeof record.type === 'string' ? record.type : payload.Type;
  const at = parseLogTime(payload.SendTime) ?? parseLogTime(record.event_timestamp);
  if (type === 'MESSAGE') {
    const sender = payload.Sender;
    if (!isObject(sender) || typeof sender.UserId !== 'string' || sender.UserId === '') return { kind: 'bad', reason: 'no sender' };
    if (typeof payload.Content !== 'string') return { kind: 'bad', reason: 'no content' };
    if (at === undefined) return { kind: 'bad', reason: 'bad timestamp' };
    return {
      kind: 'message',
      m: {
        at,
        id: typeof payload.Id === 'string' ? payload.Id : `line${index}`,
        senderId: sender.UserId,
        content: payload.Content,
        attributes: stringMap(payload.Attributes),
        line: index,
      },
    };
  }
  if (type === 'EVENT') {
    if (typeof payload.EventName !== 'string' || payload.EventName === '') return { kind: 'bad', reason: 'no event name' };
    if (at === undefined) return { kind: 'bad', reason: 'bad timestamp' };
    return {
      kind: 'event',
      e: {
        at,
        id: typeof payload.Id === 'string' ? payload.Id : `line${index}`,
        eventName: payload.EventName,
        requestId: typeof payload.RequestId === 'string' ? payload.RequestId : '',
        attributes: stringMap(payload.Attributes),
        line: index,
      },
    };
  }
  return { kind: 'bad', reason: 'unknown type' };
}

const byTime = <T extends { at: number; line: number }>(a: T, b: T) => a.at - b.at || a.line - b.line;

export function parseReplayLog(sources: readonly LogSource[]): ParsedLog {
  const rooms = new Map<string, { room: RecordedRoom; ids: Set<string> }>();
  const out: ParsedLog = { rooms: [], lines: 0, records: 0, duplicates: 0, malformed: {}, examples: [] };
  let lineIndex = 0;
  for (const source of sources) {
    let entry = rooms.get(source.room);
    if (!entry) rooms.set(source.room, (entry = { room: { name: source.room, messages: [], events: [] }, ids: new Set() }));
    const lines = source.text.split('\n');
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n]!.trim();
      if (line === '') continue;
      out.lines++;
      const r = readLine(line, lineIndex++);
      if (r.kind === 'bad') {
        out.malformed[r.reason] = (out.malformed[r.reason] ?? 0) + 1;
        if (out.examples.length < 5) out.examples.push(`${source.room}:${n + 1}: ${r.reason}`);
        continue;
      }
      const id = r.kind === 'message' ? r.m.id : r.e.id;
      if (entry.ids.has(id)) {
        out.duplicates++;
        continue;
      }
      entry.ids.add(id);
      out.records++;
      if (r.kind === 'message') entry.room.messages.push(r.m);
      else entry.room.events.push(r.e);
    }
  }
  if (out.lines === 0) throw new ReplayLogError('the log has no records (every line is empty)');
  if (out.records === 0 && out.duplicates === 0) {
    throw new ReplayLogError(`no line of the log is a chat log record (${malformedText(out)}; e.g. ${out.examples.join('; ')})`);
  }
  for (const { room } of rooms.values()) {
    if (room.messages.length === 0 && room.events.length === 0) continue;
    room.messages.sort(byTime);
    room.events.sort(byTime);
    out.rooms.push(room);
  }
  out.rooms.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return out;
}

export function malformedCount(log: Pick<ParsedLog, 'malformed'>): number {
  let n = 0;
  for (const k of Object.keys(log.malformed)) n += log.malformed[k as MalformedReason] ?? 0;
  return n;
}

export function malformedText(log: Pick<ParsedLog, 'malformed'>): string {
  const parts = Object.keys(log.malformed).map((k) => `${log.malformed[k as MalformedReason]} ${k}`);
  return parts.length ? parts.join(', ') : 'none';
}
