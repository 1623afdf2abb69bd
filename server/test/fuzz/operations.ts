import type { z } from 'zod';
import { createChatToken } from '../../src/control-plane/create-chat-token.ts';
import { createLoggingConfiguration } from '../../src/control-plane/create-logging-configuration.ts';
import { createRoom } from '../../src/control-plane/create-room.ts';
import { deleteLoggingConfiguration } from '../../src/control-plane/delete-logging-configuration.ts';
import { deleteMessage } from '../../src/control-plane/delete-message.ts';
import { deleteRoom } from '../../src/control-plane/delete-room.ts';
import { disconnectUser } from '../../src/control-plane/disconnect-user.ts';
import { getLoggingConfiguration } from '../../src/control-plane/get-logging-configuration.ts';
import { getRoom } from '../../src/control-plane/get-room.ts';
import { listLoggingConfigurations } from '../../src/control-plane/list-logging-configurations.ts';
import { listRooms } from '../../src/control-plane/list-rooms.ts';
import { listTagsForResource } from '../../src/control-plane/list-tags-for-resource.ts';
import { sendEvent } from '../../src/control-plane/send-event.ts';
import { tagResource } from '../../src/control-plane/tag-resource.ts';
import { untagResource } from '../../src/control-plane/untag-resource.ts';
import { updateLoggingConfiguration } from '../../src/control-plane/update-logging-configuration.ts';
import { updateRoom } from '../../src/control-plane/update-room.ts';

// The control-plane operations and the JSON type of each input member, read from the server's own
// zod schemas so that a member added there is fuzzed here without anyone remembering to.

export type JsonType = 'string' | 'number' | 'object' | 'array' | 'boolean' | 'null';

export interface OperationShape {
  name: string;
  /** How the operation is reached: POST /<name>, or a method on /tags/{resourceArn}. */
  route: { method: 'POST'; path: string } | { method: 'GET' | 'POST' | 'DELETE'; tags: true };
  /** Members read from the JSON body, with the JSON type each must have. */
  members: Record<string, JsonType>;
}

function jsonTypeOf(schema: z.ZodType): JsonType {
  const def = (schema as unknown as { _zod: { def: { type: string; innerType?: z.ZodType } } })._zod.def;
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'nullable':
      return jsonTypeOf(def.innerType!);
    case 'string':
    case 'enum':
    case 'literal':
      return 'string';
    case 'number':
    case 'int':
      return 'number';
    case 'object':
    case 'record':
      return 'object';
    case 'array':
      return 'array';
    case 'boolean':
      return 'boolean';
    default: {
      // A custom schema says nothing of its type: ask it which empty value it takes.
      const samples: Array<[JsonType, unknown]> = [['object', {}], ['array', []], ['string', ''], ['number', 0], ['boolean', false]];
      const taken = samples.find(([, sample]) => schema.safeParse(sample).success);
      if (!taken) throw new Error(`no JSON type known for zod type ${def.type}`);
      return taken[0];
    }
  }
}

function membersOf(input: z.ZodType, fromPath: string[] = []): Record<string, JsonType> {
  const shape = (input as unknown as { shape: Record<string, z.ZodType> }).shape;
  return Object.fromEntries(Object.entries(shape).filter(([name]) => !fromPath.includes(name)).map(([name, schema]) => [name, jsonTypeOf(schema)]));
}

const post = [
  createRoom,
  getRoom,
  updateRoom,
  deleteRoom,
  listRooms,
  createChatToken,
  sendEvent,
  deleteMessage,
  disconnectUser,
  createLoggingConfiguration,
  getLoggingConfiguration,
  updateLoggingConfiguration,
  deleteLoggingConfiguration,
  listLoggingConfigurations,
];

export const OPERATIONS: OperationShape[] = [
  ...post.map((op) => ({ name: op.name, route: { method: 'POST' as const, path: `/${op.name}` }, members: membersOf(op.input) })),
  { name: tagResource.name, route: { method: 'POST', tags: true }, members: membersOf(tagResource.input, ['resourceArn']) },
  // tagKeys travel in the query string; a body is not read at all.
  { name: untagResource.name, route: { method: 'DELETE', tags: true }, members: {} },
  { name: listTagsForResource.name, route: { method: 'GET', tags: true }, members: {} },
];

export const jsonTypeOfValue = (value: unknown): JsonType =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : (typeof value as JsonType);
