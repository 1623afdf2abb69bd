import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ChatLogAudit, parseRecord, type ViewerFigures } from '../lib/chat-log-audit.ts';
import { DeliveryLedger, SEND_ACKED, SEND_REJECTED, SEND_UNCERTAIN } from '../lib/delivery-ledger.ts';

// The chat-log audit on crafted logs and crafted acknowledgement records: every kind of damage is
// found, with exact counts, and nothing is reported for a log that is right.

const ROOM0_SENDERS = [0, 2];
const ROOM1_SENDERS = [1];
const CLEAN_VIEWERS: ViewerFigures = { expected: 10, delivered: 10, missing: 0, duplicated: 0, outOfOrder: 0 };

function messageLine(sender: number, seq: number): string {
  const frame = {
    Type: 'MESSAGE',
    Id: 'abcdefghijkl',
    RequestId: `m${seq}`,
    Attributes: { t: '1.000', s: String(sender), n: String(seq) },
    Content: 'chatstorm load message',
    SendTime: '2026-11-29T06:00:00.000Z',
    Sender: { UserId: `v${sender}` },
  };
  return JSON.stringify({ event_timestamp: '2026-11-29T06:00:00.001Z', type: 'MESSAGE', version: '1.0', payload: frame });
}

function eventLine(name: 'aws:DELETE_MESSAGE' | 'aws:DISCONNECT_USER', tag: string): string {
  const attributes = name === 'aws:DELETE_MESSAGE' ? { MessageId: 'abcdefghijkl', MessageID: 'abcdefghijkl' } : { UserId: 'v9' };
  const frame = { Type: 'EVENT', Id: 'mnopqrstuvwx', RequestId: '', EventName: name, Attributes: { ...attributes, Reason: `chatstorm load test ${tag}` }, SendTime: '2026-11-29T06:00:00.000Z' };
  return JSON.stringify({ event_timestamp: '2026-11-29T06:00:00.001Z', type: 'EVENT', version: '1.0', payload: frame });
}

/**
 * Room 0: senders 0 and 2 take turns, five messages each, every message acknowledged 10 ms after
 * it was sent and before the next one is sent. Room 1: sender 1, three messages.
 */
function ledgerOfTurns(): DeliveryLedger {
  const ledger = new DeliveryLedger({ senderOf: () => 0 }, 1000);
  for (let seq = 1; seq <= 5; seq++) {
    for (const [k, sender] of ROOM0_SENDERS.entries()) {
      const at = 1000 + seq * 100 + k * 50;
      ledger.sent(sender, seq, at);
      ledger.resolved(sender, seq, SEND_ACKED, at + 10);
    }
  }
  for (let seq = 1; seq <= 3; seq++) {
    ledger.sent(1, seq, 1000 + seq * 100);
    ledger.resolved(1, seq, SEND_ACKED, 1000 + seq * 100 + 10);
  }
  return ledger;
}

/** Room 0's log as the server would write it: in send order. */
function room0InOrder(): string[] {
  const lines: string[] = [];
  for (let seq = 1; seq <= 5; seq++) for (const sender of ROOM0_SENDERS) lines.push(messageLine(sender, seq));
  return lines;
}

const room1InOrder = () => [1, 2, 3].map((seq) => messageLine(1, seq));

function audit(
  ledger: DeliveryLedger,
  room0: string[] | null,
  room1: string[] | null = room1InOrder(),
  moderations: [number, string, number][] = [],
  viewers: ViewerFigures = CLEAN_VIEWERS,
) {
  const a = new ChatLogAudit({
    rooms: 2,
    sendersOf: (room) => (room === 0 ? ROOM0_SENDERS : ROOM1_SENDERS),
    sendsOf: (sender) => ledger.sendsOf(sender),
    moderations,
  });
  a.addRoom(0, room0);
  a.addRoom(1, room1);
  return a.finish('crafted', viewers);
}

describe('chat-log audit', () => {
  it('passes a complete log in send order and reports every acknowledged message as logged', () => {
    const r = audit(ledgerOfTurns(), room0InOrder());
    assert.deepEqual(r.problems, []);
    assert.equal(r.passed, true);
    assert.deepEqual(r.messages, { acknowledged: 13, logged: 13, missing: 0, duplicated: 0, outOfOrder: 0, rejectedLogged: 0, unconfirmedLogged: 0, unexpected: 0 });
    assert.equal(r.malformedLines, 0);
  });

  it('counts exactly the three acknowledged messages whose lines were deleted, names them and fails', () => {
    const lines = room0InOrder();
    // v2 #1, v0 #3 and v2 #4.
    const damaged = lines.filter((_, k) => k !== 1 && k !== 4 && k !== 7);
    const r = audit(ledgerOfTurns(), damaged);
    assert.equal(r.messages.missing, 3);
    assert.equal(r.messages.logged, 10);
    assert.equal(r.messages.acknowledged, 13);
    assert.equal(r.messages.outOfOrder, 0, 'a gap is not disorder');
    assert.equal(r.passed, false);
    assert.equal(r.problems.length, 1);
    assert.match(r.problems[0]!, /^3 acknowledged message\(s\) missing from the chat log \(e\.g\. room 0: v0 #3; room 0: v2 #1; room 0: v2 #4\)$/);
  });

  it('counts every acknowledged message of a room without a log file as missing', () => {
    const r = audit(ledgerOfTurns(), room0InOrder(), null);
    assert.equal(r.messages.missing, 3);
    assert.equal(r.passed, false);
  });

  it('counts each extra copy of a logged message as a duplicate, wherever it appears', () => {
    const lines = room0InOrder();
    const damaged = [...lines.slice(0, 3), lines[2]!, ...lines.slice(3), lines[0]!];
    const r = audit(ledgerOfTurns(), damaged);
    assert.equal(r.messages.duplicated, 2);
    assert.equal(r.messages.missing, 0);
    assert.equal(r.messages.outOfOrder, 0, 'a repeat is counted once, as a duplicate');
    assert.equal(r.passed, false);
    assert.match(r.problems[0]!, /^2 extra cop\(ies\) of messages in the chat log/);
  });

  it('counts a message logged after one that was sent only once it had been acknowledged as out of order, once', () => {
    const lines = room0InOrder();
    // v0 #2 (acked at 1210) logged after v2 #2 (sent at 1250).
    [lines[2], lines[3]] = [lines[3]!, lines[2]!];
    let r = audit(ledgerOfTurns(), lines);
    assert.equal(r.messages.outOfOrder, 1);
    assert.equal(r.messages.logged, 13);
    assert.equal(r.passed, false);
    assert.match(r.problems[0]!, /^1 message\(s\) logged out of order \(e\.g\. room 0 line 4: v0 #2 logged late\)$/);

    // One message moved to the end: only it is late, however far it moved.
    const moved = room0InOrder();
    moved.push(moved.splice(1, 1)[0]!);
    r = audit(ledgerOfTurns(), moved);
    assert.equal(r.messages.outOfOrder, 1);
  });

  it('accepts messages that were in flight together in either order, but never a sender’s own out of sequence', () => {
    // Senders 0 and 2 send at the same moment; both acks come back later.
    const ledger = new DeliveryLedger({ senderOf: () => 0 }, 1000);
    ledger.sent(0, 1, 1000);
    ledger.sent(2, 1, 1001);
    ledger.sent(0, 2, 1002);
    ledger.resolved(0, 1, SEND_ACKED, 1020);
    ledger.resolved(2, 1, SEND_ACKED, 1021);
    ledger.resolved(0, 2, SEND_ACKED, 1022);
    const r = audit(ledger, [messageLine(2, 1), messageLine(0, 1), messageLine(0, 2)], []);
    assert.equal(r.messages.outOfOrder, 0);
    assert.equal(r.passed, true, r.problems.join('\n'));

    const swapped = audit(ledger, [messageLine(0, 2), messageLine(2, 1), messageLine(0, 1)], []);
    assert.equal(swapped.messages.outOfOrder, 1, 'v0 #1 after v0 #2');
  });

  it('fails when a message the server refused is in the log, and accepts an unconfirmed one either way', () => {
    const ledger = ledgerOfTurns();
    ledger.sent(1, 4, 2000);
    ledger.resolved(1, 4, SEND_REJECTED, 2005);
    ledger.sent(1, 5, 2100);
    ledger.resolved(1, 5, SEND_UNCERTAIN, 2105);
    const withoutEither = audit(ledger, room0InOrder(), room1InOrder());
    assert.equal(withoutEither.passed, true, withoutEither.problems.join('\n'));
    const withUnconfirmed = audit(ledger, room0InOrder(), [...room1InOrder(), messageLine(1, 5)]);
    assert.equal(withUnconfirmed.messages.unconfirmedLogged, 1);
    assert.equal(withUnconfirmed.passed, true);
    const withRefused = audit(ledger, room0InOrder(), [...room1InOrder(), messageLine(1, 4)]);
    assert.equal(withRefused.messages.rejectedLogged, 1);
    assert.equal(withRefused.passed, false);
    assert.match(withRefused.problems[0]!, /1 message\(s\) the server refused are in the chat log \(e\.g\. room 1 line 4: v1 #4/);
  });

  it('fails on records no send explains: another room’s message, a sequence never sent, a foreign message, a torn line', () => {
    const foreign = messageLine(0, 1).replace('"s":"0","n":"1"', '"x":"y"');
    const r = audit(ledgerOfTurns(), room0InOrder(), [...room1InOrder(), messageLine(0, 1), messageLine(1, 9), foreign, '{"event_timestamp":"2026']);
    assert.equal(r.messages.unexpected, 3);
    assert.equal(r.malformedLines, 1);
    assert.equal(r.messages.duplicated, 0, 'room 0’s message in room 1 is not a copy in room 0');
    assert.equal(r.passed, false);
    assert.equal(r.problems.length, 2);
  });

  it('checks moderation events: acknowledged ones logged once, refused ones absent, unknown ones flagged', () => {
    const moderations: [number, string, number][] = [
      [0, 'd1', SEND_ACKED],
      [0, 'x2', SEND_ACKED],
      [0, 'd3', SEND_REJECTED],
      [0, 'x4', SEND_UNCERTAIN],
      [1, 'd1', SEND_ACKED],
    ];
    const good = audit(
      ledgerOfTurns(),
      [...room0InOrder(), eventLine('aws:DELETE_MESSAGE', 'd1'), eventLine('aws:DISCONNECT_USER', 'x2')],
      [...room1InOrder(), eventLine('aws:DELETE_MESSAGE', 'd1')],
      moderations,
    );
    assert.equal(good.passed, true, good.problems.join('\n'));
    assert.deepEqual(good.events, { acknowledged: 3, logged: 3, missing: 0, duplicated: 0, rejectedLogged: 0, unconfirmedLogged: 0, unexpected: 0, deleteMessage: 2, disconnectUser: 1 });

    const bad = audit(
      ledgerOfTurns(),
      [
        ...room0InOrder(),
        eventLine('aws:DELETE_MESSAGE', 'd1'),
        eventLine('aws:DELETE_MESSAGE', 'd1'),
        eventLine('aws:DELETE_MESSAGE', 'd3'),
        eventLine('aws:DISCONNECT_USER', 'x4'),
        eventLine('aws:DISCONNECT_USER', 'd7'),
      ],
      room1InOrder(),
      moderations,
    );
    // x2 and room 1's d1 missing; d1 twice; d3 was refused; x4's outcome was unknown (fine); d7 nobody asked for.
    assert.equal(bad.events.missing, 2);
    assert.equal(bad.events.duplicated, 1);
    assert.equal(bad.events.rejectedLogged, 1);
    assert.equal(bad.events.unconfirmedLogged, 1);
    assert.equal(bad.events.unexpected, 1);
    assert.equal(bad.passed, false);
    assert.equal(bad.problems.length, 4);
  });

  it('fails when the viewers’ own exactly-once figures do not add up, even with a perfect log', () => {
    const r = audit(ledgerOfTurns(), room0InOrder(), room1InOrder(), [], { expected: 10, delivered: 9, missing: 1, duplicated: 2, outOfOrder: 0 });
    assert.equal(r.passed, false);
    assert.deepEqual(r.problems, [
      '1 expected deliveries to connected viewers are missing',
      '2 deliveries to viewers were duplicates',
      'viewers: delivered 9 of 10 expected',
    ]);
  });

  it('reads the IVS logging record shape and nothing else', () => {
    assert.deepEqual(parseRecord(messageLine(3, 7)), { type: 'MESSAGE', sender: 3, seq: 7 });
    assert.deepEqual(parseRecord(eventLine('aws:DISCONNECT_USER', 'x12')), { type: 'EVENT', name: 'aws:DISCONNECT_USER', tag: 'x12' });
    assert.equal(parseRecord('not json'), null);
    assert.equal(parseRecord('{"type":"MESSAGE","payload":{"Type":"MESSAGE","Id":"a"}}'), null, 'no event_timestamp/version');
    assert.equal(parseRecord(messageLine(1, 1).replace('"type":"MESSAGE"', '"type":"EVENT"')), null, 'record type and frame type disagree');
  });
});
