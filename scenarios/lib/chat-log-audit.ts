import { DELETE_MESSAGE_EVENT, DISCONNECT_USER_EVENT } from './codec.ts';
import { SEND_ACKED, SEND_REJECTED, type SenderSends } from './delivery-ledger.ts';
import type { AuditResult } from './results.ts';

// The chat-log audit: after a run, the room logs the server wrote (one IVS logging record per
// line) are checked against what the runner knows it was told. Pure: the runner reads the files.
//
// Messages, per room:
// - every message whose sender got its own copy back (acknowledged) is in the room's log exactly once;
// - a message the server refused with an ERROR is absent;
// - order: a sender's messages appear in its sequence order, and when message A's acknowledgement
//   reached its sender before message B was sent (one clock for every worker thread), A is logged
//   before B, whoever sent them. That is all a client can know of the server's acceptance order;
//   messages in flight at the same moment may be logged either way round. A record breaking either
//   rule is counted once, as *late* (as a receiver counts a late arrival): logged after a later
//   message of its own sender, or after a message that was sent only once it had been acknowledged.
// Sends whose outcome the sender never learned (its connection ended first) may be logged or not.
// Moderation actions, per room: each DeleteMessage/DisconnectUser the server acknowledged (its event
// came back to the moderator, or the HTTP call answered 2xx) is logged as one EVENT; refused ones
// are absent. Actions are named by the tag the runner put at the end of their Reason.

/** Clock skew allowed between worker threads when comparing an ack time to a send time. */
const GUARD_MS = 2;
const EXAMPLES = 5;
const TAG = /(?:^|\s)([dx]\d+)$/;

export interface AuditSources {
  rooms: number;
  /** The chatters of a room (viewer indexes). */
  sendersOf(room: number): readonly number[];
  sendsOf(sender: number): SenderSends | undefined;
  /** Every moderation action's outcome: [room, tag, outcome]. */
  moderations: readonly (readonly [room: number, tag: string, outcome: number])[];
}

export interface ViewerFigures {
  expected: number;
  delivered: number;
  missing: number;
  duplicated: number;
  outOfOrder: number;
}

interface ActionState {
  outcome: number;
  logged: number;
}

type Problem =
  | 'missing'
  | 'duplicated'
  | 'outOfOrder'
  | 'rejectedLogged'
  | 'unexpected'
  | 'malformed'
  | 'eventMissing'
  | 'eventDuplicated'
  | 'eventRejectedLogged'
  | 'eventUnexpected';

export class ChatLogAudit {
  readonly figures: Omit<AuditResult, 'source' | 'viewers' | 'problems' | 'passed'> = {
    messages: { acknowledged: 0, logged: 0, missing: 0, duplicated: 0, outOfOrder: 0, rejectedLogged: 0, unconfirmedLogged: 0, unexpected: 0 },
    events: {
      acknowledged: 0,
      logged: 0,
      missing: 0,
      duplicated: 0,
      rejectedLogged: 0,
      unconfirmedLogged: 0,
      unexpected: 0,
      deleteMessage: 0,
      disconnectUser: 0,
    },
    malformedLines: 0,
  };
  private readonly examples = new Map<Problem, string[]>();
  /** Per sender: how often each sequence number was logged. */
  private readonly occurrences = new Map<number, Uint16Array>();
  private readonly actions: Map<string, ActionState>[] = [];
  private readonly audited = new Set<number>();

  constructor(private readonly sources: AuditSources) {
    for (let r = 0; r < sources.rooms; r++) this.actions.push(new Map());
    for (const [room, tag, outcome] of sources.moderations) this.actions[room]?.set(tag, { outcome, logged: 0 });
  }

  private note(problem: Problem, example: string): void {
    let list = this.examples.get(problem);
    if (!list) this.examples.set(problem, (list = []));
    if (list.length < EXAMPLES) list.push(example);
  }

  /** One room's log, line by line in file order; null when the room has no log at all. */
  addRoom(room: number, lines: Iterable<string> | null): void {
    this.audited.add(room);
    if (!lines) return;
    const m = this.figures.messages;
    const senders = new Set(this.sources.sendersOf(room));
    const lastSeq = new Map<number, number>();
    // Latest send time among the messages logged so far: a message acknowledged before that is late.
    let latestSentBefore = -Infinity;
    let lineNo = 0;
    for (const line of lines) {
      lineNo++;
      const record = parseRecord(line);
      if (!record) {
        this.figures.malformedLines++;
        this.note('malformed', `room ${room} line ${lineNo}: ${line.slice(0, 80)}`);
        continue;
      }
      if (record.type === 'EVENT') {
        this.event(room, record, lineNo);
        continue;
      }
      const { sender, seq } = record;
      const sends = senders.has(sender) ? this.sources.sendsOf(sender) : undefined;
      if (!sends || seq < 1 || seq > sends.count) {
        m.unexpected++;
        this.note('unexpected', `room ${room} line ${lineNo}: v${sender} #${seq} was not sent to this room in this run`);
        continue;
      }
      let seen = this.occurrences.get(sender);
      if (!seen || seen.length <= sends.count) {
        const grown = new Uint16Array(sends.count + 1);
        if (seen) grown.set(seen);
        this.occurrences.set(sender, (seen = grown));
      }
      if (++seen[seq]! > 1) {
        m.duplicated++;
        this.note('duplicated', `room ${room} line ${lineNo}: v${sender} #${seq} again`);
        continue;
      }
      const outcome = sends.outcomes[seq]!;
      if (outcome === SEND_REJECTED) {
        m.rejectedLogged++;
        this.note('rejectedLogged', `room ${room} line ${lineNo}: v${sender} #${seq} was refused with an ERROR`);
      } else if (outcome !== SEND_ACKED) {
        m.unconfirmedLogged++;
      }
      // Late, like a receiver's late arrival: logged after a message it must precede.
      const behindSender = seq < (lastSeq.get(sender) ?? 0);
      const ackedAt = outcome === SEND_ACKED ? sends.acks[seq]! : Infinity;
      if (behindSender || ackedAt + GUARD_MS < latestSentBefore) {
        m.outOfOrder++;
        this.note('outOfOrder', `room ${room} line ${lineNo}: v${sender} #${seq} logged late`);
      }
      if (!behindSender) lastSeq.set(sender, seq);
      latestSentBefore = Math.max(latestSentBefore, sends.times[seq]!);
    }
  }

  private event(room: number, record: { name: string; tag: string | undefined }, lineNo: number): void {
    const e = this.figures.events;
    if (record.name === DELETE_MESSAGE_EVENT) e.deleteMessage++;
    else if (record.name === DISCONNECT_USER_EVENT) e.disconnectUser++;
    const action = record.tag ? this.actions[room]?.get(record.tag) : undefined;
    const kind = record.tag?.[0] === 'd' ? DELETE_MESSAGE_EVENT : DISCONNECT_USER_EVENT;
    if (!action || kind !== record.name) {
      e.unexpected++;
      this.note('eventUnexpected', `room ${room} line ${lineNo}: ${record.name} ${record.tag ?? '(no tag)'} was not asked for in this room`);
      return;
    }
    if (++action.logged > 1) {
      e.duplicated++;
      this.note('eventDuplicated', `room ${room} line ${lineNo}: ${record.name} ${record.tag} again`);
      return;
    }
    if (action.outcome === SEND_ACKED) e.logged++;
    else if (action.outcome === SEND_REJECTED) {
      e.rejectedLogged++;
      this.note('eventRejectedLogged', `room ${room} line ${lineNo}: ${record.name} ${record.tag} was refused`);
    } else e.unconfirmedLogged++;
  }

  /** The verdict: what the log holds against what was acknowledged, with the viewers' own exactly-once figures. */
  finish(source: string, viewers: ViewerFigures, notes: readonly string[] = []): AuditResult {
    const m = this.figures.messages;
    const e = this.figures.events;
    for (let room = 0; room < this.sources.rooms; room++) {
      for (const sender of this.sources.sendersOf(room)) {
        const sends = this.sources.sendsOf(sender);
        if (!sends) continue;
        const seen = this.occurrences.get(sender);
        for (let seq = 1; seq <= sends.count; seq++) {
          if (sends.outcomes[seq] !== SEND_ACKED) continue;
          m.acknowledged++;
          if ((seen?.[seq] ?? 0) > 0) m.logged++;
          else {
            m.missing++;
            this.note('missing', `room ${room}: v${sender} #${seq}${this.audited.has(room) ? '' : ' (room not audited)'}`);
          }
        }
      }
      for (const [tag, action] of this.actions[room]!) {
        if (action.outcome !== SEND_ACKED) continue;
        e.acknowledged++;
        if (action.logged === 0) {
          e.missing++;
          this.note('eventMissing', `room ${room}: ${tag}`);
        }
      }
    }

    const problems = [...notes];
    const say = (n: number, what: string, problem: Problem) => {
      if (n > 0) problems.push(`${n} ${what} (e.g. ${(this.examples.get(problem) ?? []).join('; ')})`);
    };
    say(m.missing, 'acknowledged message(s) missing from the chat log', 'missing');
    say(m.duplicated, 'extra cop(ies) of messages in the chat log', 'duplicated');
    say(m.outOfOrder, 'message(s) logged out of order', 'outOfOrder');
    say(m.rejectedLogged, 'message(s) the server refused are in the chat log', 'rejectedLogged');
    say(m.unexpected, 'MESSAGE record(s) no send of this run explains', 'unexpected');
    say(this.figures.malformedLines, 'line(s) that are not a logging record', 'malformed');
    say(e.missing, 'acknowledged moderation action(s) without their EVENT in the chat log', 'eventMissing');
    say(e.duplicated, 'extra EVENT record(s) for one moderation action', 'eventDuplicated');
    say(e.rejectedLogged, 'refused moderation action(s) logged as an EVENT', 'eventRejectedLogged');
    say(e.unexpected, 'EVENT record(s) no moderation action of this run explains', 'eventUnexpected');
    if (m.acknowledged === 0) problems.push('no acknowledged messages to audit: nothing was proven');
    if (viewers.missing > 0) problems.push(`${viewers.missing} expected deliveries to connected viewers are missing`);
    if (viewers.duplicated > 0) problems.push(`${viewers.duplicated} deliveries to viewers were duplicates`);
    if (viewers.outOfOrder > 0) problems.push(`${viewers.outOfOrder} deliveries to viewers came out of order`);
    if (viewers.delivered !== viewers.expected) problems.push(`viewers: delivered ${viewers.delivered} of ${viewers.expected} expected`);
    return { source, ...this.figures, viewers: { ...viewers }, problems, passed: problems.length === 0 };
  }
}

type LogRecord = { type: 'MESSAGE'; sender: number; seq: number } | { type: 'EVENT'; name: string; tag: string | undefined };

const DIGITS = /^\d+$/;

/**
 * One line of the log in the IVS logging record shape
 * {"event_timestamp","type":"MESSAGE"|"EVENT","version","payload":<the frame>}, or null when it is
 * not one. A MESSAGE without this runner's attributes reads as sender -1 (nobody's).
 */
export function parseRecord(line: string): LogRecord | null {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch {
    return null;
  }
  if (!isObject(record) || typeof record.event_timestamp !== 'string' || typeof record.version !== 'string') return null;
  const payload = record.payload;
  if (!isObject(payload) || payload.Type !== record.type || typeof payload.Id !== 'string') return null;
  const attributes = isObject(payload.Attributes) ? payload.Attributes : {};
  if (record.type === 'MESSAGE') {
    const s = attributes.s;
    const n = attributes.n;
    if (typeof s !== 'string' || typeof n !== 'string' || !DIGITS.test(s) || !DIGITS.test(n)) return { type: 'MESSAGE', sender: -1, seq: 0 };
    return { type: 'MESSAGE', sender: Number(s), seq: Number(n) };
  }
  if (record.type === 'EVENT' && typeof payload.EventName === 'string') {
    const reason = attributes.Reason;
    const tag = typeof reason === 'string' ? TAG.exec(reason)?.[1] : undefined;
    return { type: 'EVENT', name: payload.EventName, tag };
  }
  return null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
