import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { UsedTokenLog } from '../src/store/used-token-log.ts';
import { WriteHealth } from '../src/store/write-health.ts';

test('a line appended while the used-token log is compacted is in the compacted log, after the snapshot', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'used-token-log-'));
  const log = new UsedTokenLog(join(dir, 'used-tokens.log'), new WriteHealth('token_log', undefined, undefined));
  try {
    log.append('stale 1\n');
    log.append('live 2\n');
    const compacted = log.compact(() => 'live 2\n');
    // The snapshot is being written off the event loop: this append lands between snapshot and rename.
    log.append('during 3\n');
    await compacted;
    assert.equal(await readFile(log.path, 'utf8'), 'live 2\nduring 3\n');
    log.append('after 4\n');
    assert.equal(await readFile(log.path, 'utf8'), 'live 2\nduring 3\nafter 4\n', 'appends after the compaction go to the new file');
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
});
