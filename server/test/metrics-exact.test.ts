import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Histogram, Registry } from 'prom-client';
import { foldTallies, HistogramTally } from '../src/metric-tally.ts';
import { createRoom, createToken } from './support/chat.ts';
import { RawChatSocket } from './support/raw-socket.ts';
import { startTestServer } from './support/server.ts';

async function scrape(url: string): Promise<(line: string) => number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return (series) => {
    const line = text.split('\n').find((l) => l.startsWith(`${series} `));
    assert.ok(line, `no series ${series} in /metrics`);
    return Number(line.slice(series.length + 1));
  };
}

test('the per-message and per-handshake counts kept as plain numbers are exact at every scrape', async () => {
  const server = await startTestServer(['--bench']);
  try {
    const { arn } = await createRoom(server, { maximumMessageRatePerSecond: 100_000 });
    const viewers = await Promise.all(['v1', 'v2', 'v3'].map(async (u) => RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, u, [])).token)));
    const sender = await RawChatSocket.connect(server.wsUrl, (await createToken(server, arn, 'sender')).token);
    const before = await scrape(server.url);
    assert.equal(before('chatstorm_handshakes_total{outcome="accepted"}'), 4);
    assert.equal(before('chatstorm_tokens_used_total'), 4);
    assert.equal(before('chatstorm_connections_opened_total'), 4);
    assert.equal(before('chatstorm_handshake_duration_seconds_count'), 4);

    // Two batches with a scrape between: what the first scrape folded in is not counted again.
    for (const batch of [7, 5]) {
      const first = sender.frames.length;
      for (let i = 0; i < batch; i++) sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: `b${batch}-${i}`, Content: 'hi' }));
      await sender.waitFor((f) => f.RequestId === `b${batch}-${batch - 1}`, 10_000);
      assert.equal(sender.frames.length - first, batch);
    }
    sender.send(JSON.stringify({ Action: 'SEND_MESSAGE', RequestId: 'too-long', Content: 'x'.repeat(501) }));
    await sender.waitFor((f) => f.RequestId === 'too-long', 10_000);
    const after = await scrape(server.url);
    const sent = 12;
    assert.equal(after('chatstorm_requests_total{action="SEND_MESSAGE",outcome="ok"}'), sent);
    assert.equal(after('chatstorm_requests_total{action="SEND_MESSAGE",outcome="error"}'), 1);
    assert.equal(after('chatstorm_fanout_publishes_total{type="MESSAGE"}'), sent);
    assert.equal(after('chatstorm_fanout_deliveries_total{type="MESSAGE"}'), sent * 4, 'every publish reached the 3 viewers and the sender');
    assert.ok(after('chatstorm_fanout_delivered_bytes_total{type="MESSAGE"}') > sent * 4 * 100);
    assert.equal(after('chatstorm_message_processing_duration_seconds_count'), sent);
    assert.equal(after('chatstorm_message_processing_duration_seconds_bucket{le="+Inf"}'), sent);
    assert.equal(after('chatstorm_fanout_publish_duration_seconds_count'), sent);
    assert.ok(after('chatstorm_message_processing_duration_seconds_sum') > 0);
    for (const v of viewers) v.close();
    sender.close();
  } finally {
    await server.stop();
  }
});

test('a histogram tally folds into the same buckets, sum and count as observe() would, also after a reset', async () => {
  const buckets = [0.001, 0.01, 0.1];
  const registry = new Registry();
  const tallied = new Histogram({ name: 'tallied', help: 'h', buckets, registers: [registry], collect: foldTallies });
  const direct = new Histogram({ name: 'direct', help: 'h', buckets, registers: [registry] });
  const tally = new HistogramTally(tallied, buckets);
  const values = [0.0005, 0.001, 0.002, 0.05, 0.1, 3, 7];
  for (const v of values) {
    tally.observe(v);
    direct.observe(v);
  }
  const read = async (h: Histogram) => (await h.get()).values.map((x) => [x.metricName, x.labels.le, x.value]);
  const strip = (rows: unknown[][]) => rows.map(([name, le, value]) => [String(name).replace(/^(tallied|direct)/, ''), le, value]);
  assert.deepEqual(strip(await read(tallied)), strip(await read(direct)));
  tallied.reset();
  direct.reset();
  tally.observe(0.02);
  direct.observe(0.02);
  assert.deepEqual(strip(await read(tallied)), strip(await read(direct)), 'after reset()');
});
