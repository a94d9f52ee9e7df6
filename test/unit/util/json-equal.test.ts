/** Deep equality of JSON values, as compareAndSet uses it. */
import { describe, expect, it } from 'vitest';
import { jsonEqual } from '../../../src/util/json-equal.js';

const equal: Array<[string, unknown, unknown]> = [
  ['the same number', 1, 1],
  ['0 and -0 (JSON has one zero)', 0, -0],
  ['the same string', 'a', 'a'],
  ['true and true', true, true],
  ['null and null', null, null],
  ['empty arrays', [], []],
  ['empty objects', {}, {}],
  ['arrays item by item', [1, 'a', null, [true]], [1, 'a', null, [true]]],
  ['objects with keys in another order', { a: 1, b: 2 }, { b: 2, a: 1 }],
  ['nested objects with keys in another order', { x: { a: [1, { c: 3, d: 4 }], b: null } }, JSON.parse('{"x":{"b":null,"a":[1,{"d":4,"c":3}]}}')],
  ['objects with an own "__proto__" key', JSON.parse('{"__proto__":{"a":1}}'), JSON.parse('{"__proto__":{"a":1}}')],
];

const different: Array<[string, unknown, unknown]> = [
  ['different numbers', 1, 2],
  ['a number and its string', 1, '1'],
  ['0 and false', 0, false],
  ['"" and null', '', null],
  ['null and an empty object', null, {}],
  ['an object and null', {}, null],
  ['an empty array and an empty object', [], {}],
  ['an array and an object with index keys', ['a'], { 0: 'a' }],
  ['an object with index keys and an array', { 0: 'a', length: 1 }, ['a']],
  ['arrays in another order', [1, 2], [2, 1]],
  ['arrays of different lengths', [1, 2], [1, 2, 3]],
  ['a shorter array', [1, 2, 3], [1, 2]],
  ['objects with an extra key', { a: 1 }, { a: 1, b: 2 }],
  ['objects missing a key', { a: 1, b: 2 }, { a: 1 }],
  ['objects with the same key count but other keys', { a: 1 }, { b: 1 }],
  ['an object key with null and one without the key', { a: null, b: 1 }, { b: 1, c: null }],
  ['objects with a different nested value', { a: { b: [1] } }, { a: { b: [2] } }],
  ['an own "__proto__" key and an empty object', JSON.parse('{"__proto__":{}}'), {}],
  ['an empty object and one with an own "__proto__" key', {}, JSON.parse('{"__proto__":{}}')],
  ['an own "constructor" key and none', { constructor: 1 }, { other: 1 }],
];

describe('jsonEqual', () => {
  for (const [what, a, b] of equal) {
    it(`holds for ${what}, both ways`, () => {
      expect(jsonEqual(a, b)).toBe(true);
      expect(jsonEqual(b, a)).toBe(true);
    });
  }

  for (const [what, a, b] of different) {
    it(`fails for ${what}, both ways`, () => {
      expect(jsonEqual(a, b)).toBe(false);
      expect(jsonEqual(b, a)).toBe(false);
    });
  }

  it('agrees with comparing canonical JSON on a batch of random values', () => {
    // Canonical form: object keys sorted at every level.
    const canonical = (value: unknown): string =>
      JSON.stringify(value, (_key, v: unknown) =>
        v !== null && typeof v === 'object' && !Array.isArray(v)
          ? Object.fromEntries(Object.entries(v).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
          : v,
      );
    let seed = 7;
    const random = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    const make = (depth: number): unknown => {
      switch (random(depth > 2 ? 4 : 6)) {
        case 0: return random(3);
        case 1: return ['a', 'b', ''][random(3)];
        case 2: return [null, true, false][random(3)];
        case 3: return null;
        case 4: return Array.from({ length: random(3) }, () => make(depth + 1));
        default: {
          const entries = Array.from({ length: random(3) }, () => [['x', 'y', 'z'][random(3)], make(depth + 1)] as const);
          return Object.fromEntries(entries.reverse());
        }
      }
    };
    let equalPairs = 0;
    for (let i = 0; i < 2000; i++) {
      const a = make(0);
      const b = random(3) === 0 ? JSON.parse(JSON.stringify(a)) : make(0);
      const want = canonical(a) === canonical(b);
      if (want) equalPairs++;
      expect(jsonEqual(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`).toBe(want);
    }
    expect(equalPairs).toBeGreaterThan(100);
  });
});
