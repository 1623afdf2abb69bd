import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DeliveryLedger,
  evaluateGaps,
  SEND_ACKED,
  SEND_LOST,
  SEND_REJECTED,
  SEND_UNCERTAIN,
} from '../lib/delivery-ledger.ts';
import { RECEIVED_DUPLICATE, RECEIVED_NEW, RECEIVED_OUT_OF_ORDER, ReceiveTracker } from '../lib/receive-tracker.ts';

// One room; sender slot k is viewer k. Receivers are viewers 100+. Times are milliseconds.
const oneRoom = { senderOf: (_room: number, slot: number) => slot };
const SETTLE = 100;

/** Sender 0 sent seqs 1..n at t = 10, 20, …, each acked 1 ms later unless `outcomes` says otherwise. */
function ledgerWith(n: number, outcomes: Record<number, number> = {}, bucketOf?: (t: number) => number): DeliveryLedger {
  const ledger = new DeliveryLedger(oneRoom, SETTLE, bucketOf);
  for (let seq = 1; seq <= n; seq++) {
    ledger.sent(0, seq, seq * 10);
    ledger.resolved(0, seq, outcomes[seq] ?? SEND_ACKED, seq * 10 + 1);
  }
  return ledger;
}

function receive(seqs: number[], slots = 1): { tracker: ReceiveTracker; outcomes: number[] } {
  const tracker = new ReceiveTracker(slots);
  return { tracker, outcomes: seqs.map((seq) => tracker.record(0, seq)) };
}

describe('receive tracking', () => {
  it('takes an in-order stream as new messages', () => {
    assert.deepEqual(receive([1, 2, 3, 4]).outcomes, [RECEIVED_NEW, RECEIVED_NEW, RECEIVED_NEW, RECEIVED_NEW]);
  });

  it('calls a repeat a duplicate, every time it repeats', () => {
    assert.deepEqual(receive([1, 2, 2, 3, 2]).outcomes, [RECEIVED_NEW, RECEIVED_NEW, RECEIVED_DUPLICATE, RECEIVED_NEW, RECEIVED_DUPLICATE]);
  });

  it('calls a message that arrives after a later one out of order, once, and a repeat of it a duplicate', () => {
    assert.deepEqual(receive([1, 5, 3, 2, 4, 3]).outcomes, [
      RECEIVED_NEW,
      RECEIVED_NEW,
      RECEIVED_OUT_OF_ORDER,
      RECEIVED_OUT_OF_ORDER,
      RECEIVED_OUT_OF_ORDER,
      RECEIVED_DUPLICATE,
    ]);
  });

  it('calls a message older than the first one received out of order', () => {
    assert.deepEqual(receive([4, 5, 2, 3, 3]).outcomes, [RECEIVED_NEW, RECEIVED_NEW, RECEIVED_OUT_OF_ORDER, RECEIVED_OUT_OF_ORDER, RECEIVED_DUPLICATE]);
  });

  it('keeps senders apart', () => {
    const tracker = new ReceiveTracker(2);
    assert.equal(tracker.record(0, 1), RECEIVED_NEW);
    assert.equal(tracker.record(1, 1), RECEIVED_NEW);
    assert.equal(tracker.record(1, 2), RECEIVED_NEW);
    assert.equal(tracker.record(0, 2), RECEIVED_NEW);
  });

  it('summarizes what arrived as first..last minus holes', () => {
    const { tracker } = receive([1, 2, 6, 4, 9]);
    const s = tracker.summary(100, 0, 0, 1000);
    assert.deepEqual(Array.from(s.seqs), [1, 9]);
    assert.deepEqual(s.holes, [[0, [3, 3, 5, 5, 7, 8]]]);
  });
});

describe('loss accounting against the senders’ logs', () => {
  it('expects every message sent while a receiver was connected, and finds none missing when all arrived', () => {
    const { tracker } = receive([1, 2, 3, 4, 5]);
    const count = ledgerWith(5).evaluate(tracker.summary(100, 0, 0, 1000));
    assert.deepEqual(count, { expected: 5, delivered: 5, missing: 0 });
  });

  it('counts a message that never arrived as missing', () => {
    const { tracker } = receive([1, 2, 4, 5]);
    assert.deepEqual(ledgerWith(5).evaluate(tracker.summary(100, 0, 0, 1000)), { expected: 5, delivered: 4, missing: 1 });
  });

  it('counts messages lost at the end of a connection, which sequence gaps alone cannot see', () => {
    const { tracker } = receive([1, 2, 3]);
    const summary = tracker.summary(100, 0, 0, 1000);
    assert.deepEqual(ledgerWith(5).evaluate(summary), { expected: 5, delivered: 3, missing: 2 });
    assert.deepEqual(evaluateGaps(summary), { expected: 3, delivered: 3, missing: 0 });
  });

  it('counts a duplicate or a late message as delivered once', () => {
    const { tracker } = receive([1, 3, 2, 2, 4, 5, 5]);
    assert.deepEqual(ledgerWith(5).evaluate(tracker.summary(100, 0, 0, 1000)), { expected: 5, delivered: 5, missing: 0 });
  });

  it('does not expect messages sent before the receiver was open', () => {
    // Open at 25: seqs 1 (t=10) and 2 (t=20) were sent before.
    const { tracker } = receive([3, 4, 5]);
    assert.deepEqual(ledgerWith(5).evaluate(tracker.summary(100, 0, 25, 1000)), { expected: 3, delivered: 3, missing: 0 });
  });

  it('counts an early message that arrived anyway as expected and delivered, so delivered never exceeds expected', () => {
    const { tracker } = receive([2, 3, 4, 5]);
    assert.deepEqual(ledgerWith(5).evaluate(tracker.summary(100, 0, 25, 1000)), { expected: 4, delivered: 4, missing: 0 });
  });

  it('does not expect a message whose ack plus the settle time came after the receiver closed', () => {
    // Closed at 140: seq 3 (acked 31) was due by 131, seq 4 (acked 41) only by 141.
    const { tracker } = receive([1, 2]);
    assert.deepEqual(ledgerWith(5).evaluate(tracker.summary(100, 0, 0, 140)), { expected: 3, delivered: 2, missing: 1 });
  });

  it('waits for a slow ack before it requires a message', () => {
    const ledger = new DeliveryLedger(oneRoom, SETTLE);
    ledger.sent(0, 1, 10);
    ledger.resolved(0, 1, SEND_ACKED, 400);
    const none = new ReceiveTracker(1);
    assert.deepEqual(ledger.evaluate(none.summary(100, 0, 0, 450)), { expected: 0, delivered: 0, missing: 0 });
    assert.deepEqual(ledger.evaluate(none.summary(100, 0, 0, 600)), { expected: 1, delivered: 0, missing: 1 });
  });

  it('does not expect a message the server refused', () => {
    const { tracker } = receive([1, 2, 4]);
    assert.deepEqual(ledgerWith(4, { 3: SEND_REJECTED }).evaluate(tracker.summary(100, 0, 0, 1000)), { expected: 3, delivered: 3, missing: 0 });
  });

  it('does not expect a message whose sender was cut off before its outcome was known', () => {
    const { tracker } = receive([1, 2]);
    assert.deepEqual(ledgerWith(3, { 3: SEND_UNCERTAIN }).evaluate(tracker.summary(100, 0, 0, 1000)), { expected: 2, delivered: 2, missing: 0 });
  });

  it('expects a message the server never acknowledged although its sender stayed connected', () => {
    const { tracker } = receive([1, 2]);
    assert.deepEqual(ledgerWith(3, { 3: SEND_LOST }).evaluate(tracker.summary(100, 0, 0, 1000)), { expected: 3, delivered: 2, missing: 1 });
  });

  it('does not count a sender’s own messages as deliveries to itself', () => {
    // Viewer 0 is the sender: its connection's summary covers slot 0, which is itself.
    const own = new ReceiveTracker(1);
    assert.deepEqual(ledgerWith(5).evaluate(own.summary(0, 0, 0, 1000)), { expected: 0, delivered: 0, missing: 0 });
  });

  it('judges several senders of a room independently', () => {
    const ledger = new DeliveryLedger(oneRoom, SETTLE);
    for (let seq = 1; seq <= 3; seq++) {
      for (const sender of [0, 1]) {
        ledger.sent(sender, seq, seq * 10 + sender);
        ledger.resolved(sender, seq, SEND_ACKED, seq * 10 + sender + 1);
      }
    }
    const tracker = new ReceiveTracker(2);
    for (const seq of [1, 2, 3]) tracker.record(0, seq);
    for (const seq of [1, 3]) tracker.record(1, seq);
    assert.deepEqual(ledger.evaluate(tracker.summary(100, 0, 0, 1000)), { expected: 6, delivered: 5, missing: 1 });
    assert.deepEqual(ledger.totals, { expected: 6, delivered: 5, missing: 1 });
  });

  it('attributes expected and missing messages to the bucket of their send time', () => {
    // Buckets of 25 ms: seqs 1–2 in bucket 0, 3–4 in bucket 1, 5 in bucket 2.
    const ledger = ledgerWith(5, {}, (t) => Math.floor(t / 25));
    const { tracker } = receive([1, 2, 3, 5]);
    ledger.evaluate(tracker.summary(100, 0, 0, 1000));
    assert.deepEqual(ledger.buckets, [
      { expected: 2, delivered: 2, missing: 0 },
      { expected: 2, delivered: 1, missing: 1 },
      { expected: 1, delivered: 1, missing: 0 },
    ]);
  });
});

describe('gap accounting (k6: no senders’ logs)', () => {
  it('counts holes between the first and last message of each sender', () => {
    const tracker = new ReceiveTracker(2);
    for (const seq of [3, 4, 7, 8]) tracker.record(0, seq);
    for (const seq of [1, 2, 3]) tracker.record(1, seq);
    assert.deepEqual(evaluateGaps(tracker.summary(100, 0, 0, 1000)), { expected: 9, delivered: 7, missing: 2 });
  });

  it('does not count as missing the sends a sender left unacked on a connection it lost, when it names them after reconnecting', () => {
    const tracker = new ReceiveTracker(1);
    // Sender kicked after 1..5 (4 and 5 never acked, never published); back with 6, naming 4..5.
    for (const seq of [1, 2, 3]) tracker.record(0, seq);
    tracker.record(0, 6);
    tracker.excuse(0, 4, 5);
    tracker.record(0, 7);
    assert.deepEqual(evaluateGaps(tracker.summary(100, 0, 0, 1000)), { expected: 5, delivered: 5, missing: 0 });
  });

  it('still counts a hole the sender did not name', () => {
    const tracker = new ReceiveTracker(1);
    for (const seq of [1, 3, 4, 7]) tracker.record(0, seq);
    tracker.excuse(0, 5, 6);
    assert.deepEqual(evaluateGaps(tracker.summary(100, 0, 0, 1000)), { expected: 5, delivered: 4, missing: 1 });
  });
});

describe('counting receive mode accounting (frames counted, not decoded)', () => {
  // Sender 0's seqs 1..20 at t = 10..200, acked 1 ms later. The receiver sent its upgrade at 50 and
  // opened at 55: seqs 1–4 were echoed to their sender before 50 (cannot have reached it), seq 5
  // (sent 50, echoed 51) may have, seqs 6–20 must have.
  const counted = (frames: number) => ({
    viewer: 100,
    room: 0,
    openedAt: 55,
    closedAt: 500,
    seqs: new Int32Array(2),
    holes: null,
    counted: { frames, bytes: 0, connectingAt: 50 },
  });

  it('judges a connection with as many frames as required sends, or one optional more, complete', () => {
    assert.deepEqual(ledgerWith(20).evaluate(counted(15)), { expected: 15, delivered: 15, missing: 0 });
    assert.deepEqual(ledgerWith(20).evaluate(counted(16)), { expected: 16, delivered: 16, missing: 0 });
  });

  it('calls frames short of the required sends missing', () => {
    const ledger = ledgerWith(20);
    assert.deepEqual(ledger.evaluate(counted(13)), { expected: 15, delivered: 13, missing: 2 });
    assert.equal(ledger.countedDuplicates, 0);
  });

  it('calls frames beyond required and optional sends duplicates', () => {
    const ledger = ledgerWith(20);
    assert.deepEqual(ledger.evaluate(counted(18)), { expected: 16, delivered: 16, missing: 0 });
    assert.equal(ledger.countedDuplicates, 2);
  });

  it('owes no refused send', () => {
    assert.deepEqual(ledgerWith(20, { 10: SEND_REJECTED }).evaluate(counted(14)), { expected: 14, delivered: 14, missing: 0 });
  });

  it('charges a connection’s missing sends to the steps of its latest required sends', () => {
    const ledger = ledgerWith(20, {}, (t) => (t <= 100 ? 0 : 1));
    ledger.evaluate(counted(12));
    assert.deepEqual(ledger.buckets, [
      { expected: 5, delivered: 5, missing: 0 },
      { expected: 10, delivered: 7, missing: 3 },
    ]);
  });

  it('calls a decoded sample older than the same sender’s previous sample out of order, a newer one new', () => {
    const tracker = new ReceiveTracker(1);
    assert.deepEqual([tracker.sampled(0, 4), tracker.sampled(0, 9), tracker.sampled(0, 7), tracker.sampled(0, 12)], [
      RECEIVED_NEW,
      RECEIVED_NEW,
      RECEIVED_OUT_OF_ORDER,
      RECEIVED_NEW,
    ]);
  });
});
