import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { CreateRoomCommand, InternalServerException } from '@aws-sdk/client-ivschat';
import { test } from 'node:test';
import { startTestServer } from './support/server.ts';

test('a store that cannot be written answers InternalServerException (500) and the server keeps serving', async () => {
  const server = await startTestServer();
  try {
    await server.client.send(new CreateRoomCommand({ name: 'before' }));
    // A directory where the store file should go makes the atomic rename fail.
    const storePath = join(server.dataDir, 'store.json');
    await rm(storePath);
    await mkdir(storePath);
    await assert.rejects(server.client.send(new CreateRoomCommand({ name: 'during' })), (error: unknown) => {
      assert.ok(error instanceof InternalServerException);
      assert.equal(error.$metadata.httpStatusCode, 500);
      assert.equal(error.message, 'Internal server error');
      return true;
    });
    await rm(storePath, { recursive: true });
    const after = await server.client.send(new CreateRoomCommand({ name: 'after' }));
    assert.equal(after.name, 'after');
    assert.equal((await fetch(`${server.url}/healthz`)).status, 200);
  } finally {
    await server.stop();
  }
});
