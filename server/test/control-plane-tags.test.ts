import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  CreateLoggingConfigurationCommand,
  CreateRoomCommand,
  DeleteRoomCommand,
  GetLoggingConfigurationCommand,
  GetRoomCommand,
  ListTagsForResourceCommand,
  ResourceNotFoundException,
  TagResourceCommand,
  UntagResourceCommand,
  UpdateRoomCommand,
  ValidationException,
} from '@aws-sdk/client-ivschat';
import { createRoom } from './support/chat.ts';
import { expectApiError } from './support/control-plane.ts';
import { startTestServer, type TestServer } from './support/server.ts';

function manyTags(count: number, prefix = 'k'): Record<string, string> {
  return Object.fromEntries(Array.from({ length: count }, (_, i) => [`${prefix}${i}`, `v${i}`]));
}

describe('TagResource, UntagResource and ListTagsForResource through @aws-sdk/client-ivschat', () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(async () => {
    await server.stop();
  });

  const tagsOf = async (resourceArn: string) => (await server.client.send(new ListTagsForResourceCommand({ resourceArn }))).tags;

  async function loggingConfigurationArn(tags?: Record<string, string>) {
    const out = await server.client.send(new CreateLoggingConfigurationCommand({ destinationConfiguration: { firehose: { deliveryStreamName: 'tags' } }, tags }));
    return out.arn!;
  }

  test('a room is tagged, listed and untagged by its ARN; tags show in GetRoom too', async () => {
    const { arn } = await createRoom(server, { tags: { created: 'with-room' } });
    assert.deepEqual(await tagsOf(arn), { created: 'with-room' });
    await server.client.send(new TagResourceCommand({ resourceArn: arn, tags: { team: 'live', 'cost center': 'a/b=c+d@e.f:g' } }));
    assert.deepEqual(await tagsOf(arn), { created: 'with-room', team: 'live', 'cost center': 'a/b=c+d@e.f:g' });
    await server.client.send(new TagResourceCommand({ resourceArn: arn, tags: { team: 'vod' } }));
    assert.equal((await tagsOf(arn))!.team, 'vod', 'an existing key is overwritten');
    await server.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['created', 'cost center', 'never-set'] }));
    assert.deepEqual(await tagsOf(arn), { team: 'vod' }, 'only the named keys go; an unknown key is no error');
    assert.deepEqual((await server.client.send(new GetRoomCommand({ identifier: arn }))).tags, { team: 'vod' });
  });

  test('a logging configuration is tagged, listed and untagged by its ARN', async () => {
    const arn = await loggingConfigurationArn({ a: '1' });
    await server.client.send(new TagResourceCommand({ resourceArn: arn, tags: { b: '2' } }));
    assert.deepEqual(await tagsOf(arn), { a: '1', b: '2' });
    await server.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['a'] }));
    assert.deepEqual(await tagsOf(arn), { b: '2' });
    assert.deepEqual((await server.client.send(new GetLoggingConfigurationCommand({ identifier: arn }))).tags, { b: '2' });
  });

  test('concurrent TagResource, UntagResource and UpdateRoom calls on one room each keep their change (one read-modify-write each)', async () => {
    const { arn } = await createRoom(server, { tags: { gone: 'soon' } });
    const keys = Array.from({ length: 24 }, (_, i) => `k${i}`);
    await Promise.all([
      ...keys.map((key) => server.client.send(new TagResourceCommand({ resourceArn: arn, tags: { [key]: key } }))),
      server.client.send(new UntagResourceCommand({ resourceArn: arn, tagKeys: ['gone'] })),
      server.client.send(new UpdateRoomCommand({ identifier: arn, name: 'renamed-meanwhile' })),
    ]);
    assert.deepEqual(await tagsOf(arn), Object.fromEntries(keys.map((key) => [key, key])));
    assert.equal((await server.client.send(new GetRoomCommand({ identifier: arn }))).name, 'renamed-meanwhile');
    const config = await loggingConfigurationArn();
    await Promise.all(keys.map((key) => server.client.send(new TagResourceCommand({ resourceArn: config, tags: { [key]: key } }))));
    assert.deepEqual(await tagsOf(config), Object.fromEntries(keys.map((key) => [key, key])));
  });

  test('a resource holds at most 50 tags: more in one call or in total is a ValidationException', async () => {
    const { arn } = await createRoom(server);
    const tooMany = await expectApiError(server.client.send(new TagResourceCommand({ resourceArn: arn, tags: manyTags(51) })), ValidationException);
    assert.deepEqual(tooMany.fieldList?.map((f) => f.name), ['tags']);
    await server.client.send(new TagResourceCommand({ resourceArn: arn, tags: manyTags(50) }));
    assert.equal(Object.keys((await tagsOf(arn))!).length, 50);
    await server.client.send(new TagResourceCommand({ resourceArn: arn, tags: { k0: 'overwriting is fine at 50' } }));
    const overTotal = await expectApiError(server.client.send(new TagResourceCommand({ resourceArn: arn, tags: { fiftyFirst: 'x' } })), ValidationException);
    assert.deepEqual(overTotal.fieldList?.map((f) => f.name), ['tags']);
    assert.equal(Object.keys((await tagsOf(arn))!).length, 50, 'a refused call changes nothing');
    await expectApiError(server.client.send(new CreateRoomCommand({ tags: manyTags(51) })), ValidationException);
  });

  test('tag keys starting with "aws:" in any case are refused, with that reason, on TagResource and on create', async () => {
    const { arn } = await createRoom(server);
    for (const key of ['aws:owner', 'AWS:owner', 'Aws:owner']) {
      const error = await expectApiError(server.client.send(new TagResourceCommand({ resourceArn: arn, tags: { [key]: 'me' } })), ValidationException);
      assert.equal(error.reason, 'FIELD_VALIDATION_FAILED');
      assert.equal(error.fieldList?.length, 1);
      assert.match(error.fieldList![0]!.message!, /aws:/, key);
    }
    await expectApiError(server.client.send(new CreateRoomCommand({ tags: { 'aws:x': 'y' } })), ValidationException);
    await expectApiError(
      server.client.send(new CreateLoggingConfigurationCommand({ destinationConfiguration: { s3: { bucketName: 'aws-tags' } }, tags: { 'aws:x': 'y' } })),
      ValidationException,
    );
    assert.deepEqual(await tagsOf(arn), {});
    await server.client.send(new TagResourceCommand({ resourceArn: arn, tags: { 'not-aws:key': 'v' } }));
    assert.deepEqual(await tagsOf(arn), { 'not-aws:key': 'v' }, 'only a key that starts with the prefix is refused');
  });

  test('tag keys are 1 to 128 characters and values at most 256, each refusal saying so', async () => {
    const { arn } = await createRoom(server);
    for (const tags of [{ ['k'.repeat(129)]: 'v' }, { '': 'v' }, { k: 'v'.repeat(257) }] as Array<Record<string, string>>) {
      const error = await expectApiError(server.client.send(new TagResourceCommand({ resourceArn: arn, tags })), ValidationException);
      assert.match(error.fieldList![0]!.message!, /128|256/, error.message);
    }
    await server.client.send(new TagResourceCommand({ resourceArn: arn, tags: { ['k'.repeat(128)]: 'v'.repeat(256), empty: '' } }));
    assert.equal((await tagsOf(arn))!.empty, '');
  });

  test('an ARN of a room or configuration that does not exist is a ResourceNotFoundException for all three operations', async () => {
    const { arn } = await createRoom(server);
    await server.client.send(new DeleteRoomCommand({ identifier: arn }));
    const unknown = [
      arn,
      'arn:aws:ivschat:us-east-1:123456789012:logging-configuration/NoSuchConfig',
      arn.replace('us-east-1', 'eu-west-1'),
      arn.replace('123456789012', '210987654321'),
    ];
    for (const resourceArn of unknown) {
      for (const call of [
        () => server.client.send(new ListTagsForResourceCommand({ resourceArn })),
        () => server.client.send(new TagResourceCommand({ resourceArn, tags: { a: 'b' } })),
        () => server.client.send(new UntagResourceCommand({ resourceArn, tagKeys: ['a'] })),
      ]) {
        const error = await expectApiError(call(), ResourceNotFoundException);
        assert.equal(error.resourceId, resourceArn);
      }
    }
  });

  test('a resourceArn that is not an ivschat ARN is a ValidationException', async () => {
    for (const resourceArn of ['not-an-arn', 'arn:aws:ivs:us-east-1:123456789012:channel/AbCdEfGh1234']) {
      const error = await expectApiError(server.client.send(new ListTagsForResourceCommand({ resourceArn })), ValidationException);
      assert.deepEqual(error.fieldList?.map((f) => f.name), ['resourceArn']);
    }
  });
});
