import { describe, expect, it } from 'vitest';
import { encodeRequest, encodeResult, encodeTarget, encodeTargetedRequest, parseRequest } from '../../../src/protocol/message.js';

/** Names and values that JSON must escape or that print in more than one way. */
const NAMES = ['bench', 'a"quote', 'back\\slash', 'new\nline', 'tab\t', 'ünïcødé', '😀', '\u2028', '\u0000', 'x'.repeat(300)];
const VALUES: unknown[] = [
  0, -0, 1, -1, 1.5, 2 ** 53 - 1, -(2 ** 53) + 1, 1e21, 1e-7, 123456789.125, NaN, Infinity, -Infinity,
  null, undefined, true, false, '', 'text', 'a"b\\c\nd', '😀', [], [1, 'two', null], {}, { a: 1, 'b"': [true] },
  { nested: { deeper: [{ x: -0 }] } }, [undefined], { skipped: undefined, kept: 1 },
];

describe('encodeTargetedRequest', () => {
  it('writes the same text as encodeRequest for the same fields', () => {
    const inits: Array<Record<string, unknown> | undefined> = [undefined, {}, { parties: 4 }, { value: 2, 'odd"key': 'ü' }];
    let id = 1;
    for (const type of ['dict', 'lock', 'odd"type']) {
      for (const name of NAMES) {
        for (const init of inits) {
          const target = encodeTarget(type, name, init);
          for (const op of ['incr', 'get', 'set', 'o"p']) {
            for (const args of [[], ['k'], ['k', ...VALUES.slice(0, 5)], VALUES]) {
              expect(encodeTargetedRequest(id, op, target, args)).toBe(encodeRequest({ id, op, type, name, args, init }));
              id = id * 3 + 7;
              if (id > Number.MAX_SAFE_INTEGER / 4) id = 1;
            }
          }
        }
      }
    }
  });

  it('writes a request the server parses back to the same fields', () => {
    const text = encodeTargetedRequest(42, 'incr', encodeTarget('dict', 'ünï"cødé', { a: [1] }), ['k', 2]);
    expect(parseRequest(Buffer.from(text))).toEqual({ id: 42, op: 'incr', type: 'dict', name: 'ünï"cødé', args: ['k', 2], init: { a: [1] } });
  });

  it('throws as JSON.stringify does on arguments JSON cannot hold', () => {
    const target = encodeTarget('dict', 'd');
    expect(() => encodeTargetedRequest(1, 'set', target, ['k', 10n])).toThrow(TypeError);
  });
});

describe('encodeResult', () => {
  it('writes what JSON.stringify writes for {id, result}, undefined as null', () => {
    for (const id of [0, 1, 7158, Number.MAX_SAFE_INTEGER, -5, 'req-1', 'q"uote', '']) {
      for (const result of VALUES) {
        expect(encodeResult(id, result)).toBe(JSON.stringify({ id, result: result === undefined ? null : result }));
      }
    }
  });

  it('writes null for a result JSON has no text for', () => {
    expect(encodeResult(1, () => 1)).toBe('{"id":1,"result":null}');
    expect(encodeResult(1, Symbol('s'))).toBe('{"id":1,"result":null}');
  });
});
