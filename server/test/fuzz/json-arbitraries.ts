import fc from 'fast-check';

// JSON text with full control over what JSON.stringify would not write: keys such as __proto__
// (an object literal would set the prototype instead), repeated keys, and nesting thousands deep.
// A value is kept as a tree and serialized by hand.

export type JsonTree =
  | { t: 'raw'; json: string }
  | { t: 'array'; items: JsonTree[] }
  | { t: 'object'; entries: Array<[string, JsonTree]> };

export function serialize(tree: JsonTree): string {
  switch (tree.t) {
    case 'raw':
      return tree.json;
    case 'array':
      return `[${tree.items.map(serialize).join(',')}]`;
    case 'object':
      return `{${tree.entries.map(([k, v]) => `${JSON.stringify(k)}:${serialize(v)}`).join(',')}}`;
  }
}

export const raw = (value: unknown): JsonTree => ({ t: 'raw', json: JSON.stringify(value) });
export const object = (entries: Array<[string, JsonTree]>): JsonTree => ({ t: 'object', entries });

/** Keys that reach the prototype chain when code copies objects carelessly. */
export const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__'];

export const keyArb = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.constantFrom(...PROTOTYPE_KEYS) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 8 }) },
);

/** Strings that stress encoders: astral characters, lone surrogates (as \u escapes), controls, NUL. */
export const nastyString = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.constantFrom('', '\u0000', '\ud800', '\udfff', '\ud83d\ude00', '\u2028\u2029', '"\\', '\r\n', '<script>', '%00', 'null'),
);

/** A string of `length` repeats of one unit: huge inputs without a huge shrink tree. */
export const hugeString = (min: number, max: number) =>
  fc.tuple(fc.constantFrom('a', 'é', '😀', '\\', '"', '\u0000', '\ud800'), fc.integer({ min, max })).map(([unit, n]) => unit.repeat(n));

export const scalarArb: fc.Arbitrary<JsonTree> = fc.oneof(
  fc.constant(raw(null)),
  fc.boolean().map(raw),
  fc.integer().map(raw),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map(raw),
  fc.constantFrom('1e400', '-0', '0.0000000000000000000001', '9007199254740993', '1E+2').map((json) => ({ t: 'raw', json }) as JsonTree),
  nastyString.map(raw),
);

export const treeArb: fc.Arbitrary<JsonTree> = fc.letrec<{ tree: JsonTree }>((tie) => ({
  tree: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    scalarArb,
    fc.array(tie('tree'), { maxLength: 4 }).map((items): JsonTree => ({ t: 'array', items })),
    fc.array(fc.tuple(keyArb, tie('tree')), { maxLength: 4 }).map(object),
  ),
})).tree;

/** Any JSON value of the wrong type for a field that wants `expected`. */
export function wrongType(expected: 'string' | 'object'): fc.Arbitrary<JsonTree> {
  const others: fc.Arbitrary<JsonTree>[] = [
    fc.integer().map(raw),
    fc.boolean().map(raw),
    fc.constant(raw([])),
    fc.array(nastyString, { maxLength: 3 }).map(raw),
    fc.constant({ t: 'raw', json: '1e400' } as JsonTree),
  ];
  if (expected === 'string') others.push(fc.array(fc.tuple(keyArb, scalarArb), { maxLength: 3 }).map(object));
  if (expected === 'object') others.push(nastyString.map(raw));
  return fc.oneof(...others);
}

/** Nesting `depth` deep, closed or not: the parser must neither overflow its stack nor hang. */
export const deepNesting = fc
  .record({
    depth: fc.oneof(fc.integer({ min: 1, max: 100 }), fc.integer({ min: 1000, max: 10_000 })),
    open: fc.constantFrom('[', '{"a":', '{"Action":'),
    closed: fc.boolean(),
  })
  .map(({ depth, open, closed }) => {
    const close = open === '[' ? ']' : '}';
    return open.repeat(depth) + (closed ? '1' + close.repeat(depth) : '');
  });
