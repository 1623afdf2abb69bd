import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  encodeDeleteMessage,
  encodeSendMessage,
  messageIdAt,
  parseFrame,
  readSendAttributes,
  scanMessage,
  seqOfRequestId,
  type MessageScan,
} from '../lib/codec.ts';

// A MESSAGE exactly as chatstorm writes it (server/src/messaging/frames.ts field order).
function chatstormMessage(attributes: string, requestId = 'm7'): string {
  return (
    `{"Type":"MESSAGE","Id":"AbCdEfGhIjKl","RequestId":"${requestId}","Attributes":${attributes},` +
    `"Content":"hello","SendTime":"2026-01-01T00:00:00.000Z","Sender":{"UserId":"v3"}}`
  );
}

const scan = (): MessageScan => ({ sendTime: 0, sender: 0, seq: 0, idStart: 0 });

describe('codec', () => {
  it('reads send time, sender and sequence from a chatstorm MESSAGE without JSON.parse, as text and as bytes', () => {
    const text = chatstormMessage('{"t":"1764250000123.456","s":"3","n":"7"}');
    for (const data of [text, Buffer.from(text)]) {
      const out = scan();
      assert.ok(scanMessage(data, out) > 0);
      assert.equal(out.sender, 3);
      assert.equal(out.seq, 7);
      assert.ok(Math.abs(out.sendTime - 1764250000123.456) < 1e-6);
      assert.equal(messageIdAt(data, out), 'AbCdEfGhIjKl');
    }
  });

  it('reads the attributes the harness itself sends, after the server echoes them', () => {
    const request = JSON.parse(encodeSendMessage('hi', { sendTime: 1764250000123.5, sender: 42, seq: 9 })) as {
      RequestId: string;
      Attributes: Record<string, string>;
    };
    const echoed = chatstormMessage(JSON.stringify(request.Attributes), request.RequestId);
    const out = scan();
    assert.ok(scanMessage(echoed, out) > 0);
    assert.deepEqual([out.sender, out.seq, out.sendTime], [42, 9, 1764250000123.5]);
    assert.equal(seqOfRequestId(request.RequestId), 9);
  });

  it('sends a reconnected sender’s unacked tail ("g") where the fast path declines it, and the slow path reads it', () => {
    const request = JSON.parse(encodeSendMessage('hi', { sendTime: 12.5, sender: 3, seq: 9, gapFrom: 6 })) as {
      RequestId: string;
      Attributes: Record<string, string>;
    };
    const echoed = chatstormMessage(JSON.stringify(request.Attributes), request.RequestId);
    assert.equal(scanMessage(echoed, scan()), -1);
    const frame = parseFrame(echoed);
    assert.deepEqual(readSendAttributes(frame?.Type === 'MESSAGE' ? frame.Attributes : undefined), { sendTime: 12.5, sender: 3, seq: 9, gapFrom: 6 });
    assert.deepEqual(readSendAttributes({ g: '9', t: '1', s: '1', n: '9' }), { sendTime: 1, sender: 1, seq: 9 }, 'a tail must end before the message');
  });

  it('reads a MESSAGE without RequestId', () => {
    const text = '{"Type":"MESSAGE","Id":"AbCdEfGhIjKl","Attributes":{"t":"5.5","s":"1","n":"2"},"Content":"x","SendTime":"z","Sender":{"UserId":"v1"}}';
    const out = scan();
    assert.ok(scanMessage(text, out) > 0);
    assert.deepEqual([out.sender, out.seq, out.sendTime], [1, 2, 5.5]);
  });

  it('declines frames in any other layout, so the caller falls back to JSON.parse', () => {
    const declined = [
      // Another server's field order (the real IVS need not follow chatstorm's).
      '{"Id":"AbCdEfGhIjKl","Type":"MESSAGE","Attributes":{"t":"1","s":"1","n":"1"},"Content":"x"}',
      // Attributes in another order.
      chatstormMessage('{"n":"7","s":"3","t":"1764250000123.456"}'),
      // Someone else's attributes, or none.
      chatstormMessage('{"emoji":"wave"}'),
      '{"Type":"MESSAGE","Id":"AbCdEfGhIjKl","RequestId":"r","Content":"x","SendTime":"z","Sender":{"UserId":"u"}}',
      // A RequestId with an escaped quote: positions can no longer be trusted.
      chatstormMessage('{"t":"1","s":"1","n":"1"}', 'a\\"b'),
      // A sequence that is not a number.
      chatstormMessage('{"t":"1","s":"1","n":"x"}'),
      '{"Type":"EVENT","Id":"AbCdEfGhIjKl","EventName":"aws:DISCONNECT_USER","Attributes":{"UserId":"v1"},"SendTime":"z"}',
      '{"Type":"ERROR","Id":"AbCdEfGhIjKl","RequestId":"m3","ErrorCode":429,"ErrorMessage":"slow down"}',
      '',
      '{"Type":"MESSAGE","Id":"AbC',
    ];
    for (const text of declined) assert.equal(scanMessage(text, scan()), -1, text);
  });

  it('reads our attributes from a parsed MESSAGE in any field order', () => {
    const frame = parseFrame(chatstormMessage('{"n":"7","s":"3","t":"12.5"}'));
    assert.equal(frame?.Type, 'MESSAGE');
    assert.deepEqual(readSendAttributes(frame?.Type === 'MESSAGE' ? frame.Attributes : undefined), { sendTime: 12.5, sender: 3, seq: 7 });
    assert.equal(readSendAttributes({ emoji: 'wave' }), undefined);
    assert.equal(readSendAttributes({ t: '1', s: '1', n: '0' }), undefined);
  });

  it('parses EVENT and ERROR frames and rejects what is not a frame', () => {
    const error = parseFrame('{"Type":"ERROR","Id":"AbCdEfGhIjKl","RequestId":"m3","ErrorCode":429,"ErrorMessage":"slow down"}');
    assert.equal(error?.Type === 'ERROR' && error.ErrorCode, 429);
    assert.equal(seqOfRequestId(error?.RequestId), 3);
    assert.equal(seqOfRequestId('d3'), 0);
    assert.equal(parseFrame('not json'), undefined);
    assert.equal(parseFrame('42'), undefined);
  });

  it('encodes moderation actions as the messaging API names them', () => {
    assert.deepEqual(JSON.parse(encodeDeleteMessage('d1', 'AbCdEfGhIjKl', 'spam')), {
      Action: 'DELETE_MESSAGE',
      RequestId: 'd1',
      Id: 'AbCdEfGhIjKl',
      Reason: 'spam',
    });
  });
});
