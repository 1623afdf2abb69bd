import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { test } from 'node:test';
import { DISCONNECT_REASONS, DISCONNECT_REASON_LABELS } from '../src/messaging/disconnect-reasons.ts';
import { startTestServer } from './support/server.ts';

test("the README's close-code table lists every disconnect reason with the code and text a client sees", async () => {
  const readme = await readFile(new URL('../../README.md', import.meta.url), 'utf8');
  const start = readme.indexOf('### Close codes');
  assert.ok(start >= 0, 'the README has a "### Close codes" section');
  const section = readme.slice(start, readme.indexOf('\n#', start + 1));
  const rows = new Map<string, string[]>();
  for (const line of section.split('\n')) {
    const cells = line.split('|').slice(1, -1).map((cell) => cell.trim());
    const reason = /^`(\w+)`$/.exec(cells[2] ?? '')?.[1];
    if (reason && reason !== 'reason') rows.set(reason, cells);
  }
  assert.deepEqual([...rows.keys()].sort(), [...DISCONNECT_REASON_LABELS].sort(), 'one row per reason, no more');
  for (const [reason, entry] of Object.entries(DISCONNECT_REASONS)) {
    const [code, text] = rows.get(reason)!;
    assert.equal(code, entry.code === undefined ? '—' : String(entry.code), `${reason}: code`);
    if (entry.how === 'close') assert.equal(text, `\`${entry.message}\``, `${reason}: close reason text`);
    else assert.doesNotMatch(text!, /`/, `${reason}: no close frame, so no text`);
  }
});

test('every disconnect reason is a zeroed label of chatstorm_connections_closed_total from the first scrape', async () => {
  const server = await startTestServer();
  try {
    const text = await (await fetch(server.metricsUrl)).text();
    const labels = [...text.matchAll(/^chatstorm_connections_closed_total\{reason="(\w+)"\} 0$/gm)].map((m) => m[1]);
    assert.deepEqual(labels.sort(), [...DISCONNECT_REASON_LABELS].sort());
  } finally {
    await server.stop();
  }
});
