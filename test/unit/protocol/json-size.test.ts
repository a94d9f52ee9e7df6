import { describe, expect, it } from 'vitest';
import { jsonByteLengthWithin } from '../../../src/protocol/json-size.js';

const actual = (value: unknown): number => Buffer.byteLength(JSON.stringify(value) ?? 'null', 'utf8');

/** A deterministic pseudo-random generator (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Characters of every kind JSON.stringify treats apart. */
const CHARACTERS = ['a', '"', '\\', '\n', '\b', '\u0001', '\u001f', '\u007f', 'é', '\u07ff', '€', '\uffff', '😀', '\ud800', '\udc00', '/'];

function randomString(next: () => number): string {
  const length = next() < 0.2 ? 64 + Math.floor(next() * 200) : Math.floor(next() * 20);
  const plain = next() < 0.5;
  let text = '';
  for (let i = 0; i < length; i++) text += plain ? 'x' : CHARACTERS[Math.floor(next() * CHARACTERS.length)]!;
  return text;
}

function randomValue(next: () => number, depth: number): unknown {
  const kind = Math.floor(next() * (depth > 3 ? 6 : 8));
  switch (kind) {
    case 0:
      return null;
    case 1:
      return next() < 0.5;
    case 2:
      return [0, -0, 1.5, -1e21, 1e-7, 2 ** 53, Number.NaN, Infinity, 123456789][Math.floor(next() * 9)];
    case 3:
    case 4:
      return randomString(next);
    case 5:
      return undefined;
    case 6:
      return Array.from({ length: Math.floor(next() * 5) }, () => randomValue(next, depth + 1));
    default:
      return Object.fromEntries(Array.from({ length: Math.floor(next() * 5) }, () => [randomString(next), randomValue(next, depth + 1)]));
  }
}

describe('jsonByteLengthWithin', () => {
  it('counts exactly what JSON.stringify writes, for 5,000 random values', () => {
    const next = random(18);
    for (let i = 0; i < 5000; i++) {
      const value = randomValue(next, 0);
      expect(jsonByteLengthWithin(value, Infinity), JSON.stringify(value)).toBe(actual(value));
    }
  });

  it('follows toJSON, and leaves out what JSON.stringify leaves out', () => {
    const values = [new Date(0), { a: undefined, b: () => 1, c: Symbol('s'), d: 1 }, [undefined, () => 1], { toJSON: () => 'x' }, undefined];
    for (const value of values) expect(jsonByteLengthWithin(value, Infinity)).toBe(actual(value));
  });

  it('answers -1 past the limit, and exactly at it the length', () => {
    const value = ['abc', { k: [1, 2, 3] }];
    const length = actual(value);
    expect(jsonByteLengthWithin(value, length)).toBe(length);
    expect(jsonByteLengthWithin(value, length - 1)).toBe(-1);
  });

  it('stops walking once past the limit: of a million-item array it reads about what fits the limit', () => {
    let reads = 0;
    const huge = new Proxy([] as unknown[], {
      get: (target, key) => {
        if (key === 'length') return 1e6;
        if (typeof key === 'string' && /^\d+$/.test(key)) {
          reads++;
          return 'x'.repeat(1000);
        }
        return Reflect.get(target, key);
      },
    });
    // 16 MiB: a million commas, then items of 1,003 bytes: about 15,700 of them.
    expect(jsonByteLengthWithin(huge, 16 * 1024 * 1024)).toBe(-1);
    expect(reads).toBeGreaterThan(15_000);
    expect(reads).toBeLessThan(17_000);
  });
});
