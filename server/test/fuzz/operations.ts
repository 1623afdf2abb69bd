import type { z } from 'zod';
import { POST_OPERATION_LIST } from '../../src/control-plane/router.ts';
import { listTagsForResource } from '../../src/control-plane/list-tags-for-resource.ts';
import { tagResource } from '../../src/control-plane/tag-resource.ts';
import { untagResource } from '../../src/control-plane/untag-resource.ts';

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


export const OPERATIONS: OperationShape[] = [
  ...POST_OPERATION_LIST.map((op) => ({ name: op.name, route: { method: 'POST' as const, path: `/${op.name}` }, members: membersOf(op.input) })),
  { name: tagResource.name, route: { method: 'POST', tags: true }, members: membersOf(tagResource.input, ['resourceArn']) },
  // tagKeys travel in the query string; a body is not read at all.
  { name: untagResource.name, route: { method: 'DELETE', tags: true }, members: {} },
  { name: listTagsForResource.name, route: { method: 'GET', tags: true }, members: {} },
];

export const jsonTypeOfValue = (value: unknown): JsonType =>
  value === null ? 'null' : Array.isArray(value) ? 'array' : (typeof value as JsonType);
