import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { GetRoomCommand, ThrottlingException, ValidationException } from '@aws-sdk/client-ivschat';
import { createRoom } from './support/chat.ts';
import { rawRequest } from './support/control-plane.ts';
import { startTestServer, type TestServer } from './support/server.ts';

// A request is validated before anything is derived from it: the quota's resourceId comes from the
// validated input, so a malformed identifier in a burst past the quota is a ValidationException,
// never a 500 from turning an object into a string.

/** Every operation that names a resource, with a body whose identifier is not a string. */
const MALFORMED: Array<[method: string, path: string, body: string]> = [
  ['POST', '/GetRoom', '{"identifier":{"toString":1}}'],
  ['POST', '/UpdateRoom', '{"identifier":{"toString":1}}'],
  ['POST', '/DeleteRoom', '{"identifier":{"toString":1}}'],
  ['POST', '/ListRooms', '{"identifier":{"toString":1},"name":{"valueOf":1}}'],
  ['POST', '/GetLoggingConfiguration', '{"identifier":{"toString":1}}'],
  ['POST', '/UpdateLoggingConfiguration', '{"identifier":{"toString":1}}'],
  ['POST', '/DeleteLoggingConfiguration', '{"identifier":{"toString":1}}'],
  ['POST', '/CreateChatToken', '{"roomIdentifier":{"toString":1},"userId":"u"}'],
  ['POST', '/SendEvent', '{"roomIdentifier":{"toString":null},"eventName":"e"}'],
  ['POST', '/DisconnectUser', '{"roomIdentifier":[],"userId":"u"}'],
  ['POST', '/DeleteMessage', '{"roomIdentifier":{"toString":1},"id":"AbCdEfGh1234"}'],
  ['POST', '/CreateRoom', '{"identifier":{"toString":1},"name":{"toString":1}}'],
];

describe('with --api-quotas on, requests are validated before the quota is charged', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer(['--api-quotas', 'on']);
  });
  after(async () => {
    await server.stop();
  });

  test('a burst past the quota with a non-string identifier is answered ValidationException, never 500', async () => {
    for (const [method, path, body] of MALFORMED) {
      // Twice the highest quota of these operations (200/s) in one burst: past any bucket.
      const answers = await Promise.all(Array.from({ length: 25 }, () => rawRequest(server, method, path, body)));
      const statuses = new Set(answers.map((a) => `${a.status} ${a.errorType}`));
      assert.deepEqual([...statuses], ['400 ValidationException'], `${path}: ${[...statuses].join(', ')}`);
      assert.equal(answers[0]!.body?.reason, 'FIELD_VALIDATION_FAILED', path);
    }
  });

  test('a burst of valid calls is still throttled, with the validated identifier as resourceId', async () => {
    const { arn } = await createRoom(server);
    const results = await Promise.allSettled(Array.from({ length: 20 }, () => server.client.send(new GetRoomCommand({ identifier: arn }))));
    const rejected = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as unknown] : []));
    assert.ok(rejected.length >= 1, 'a burst of 20 GetRoom calls passes a quota of 5/s');
    for (const error of rejected) {
      assert.ok(error instanceof ThrottlingException, String(error));
      assert.equal(error.resourceId, arn);
    }
  });

  test('a malformed call in a throttled burst is still a ValidationException through the SDK', async () => {
    const { arn } = await createRoom(server);
    await Promise.allSettled(Array.from({ length: 20 }, () => server.client.send(new GetRoomCommand({ identifier: arn }))));
    await assert.rejects(server.client.send(new GetRoomCommand({ identifier: 'not-an-arn' })), ValidationException);
  });
});
