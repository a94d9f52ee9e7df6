/**
 * What parseRequest refuses before or right after JSON.parse: nesting past MAX_NESTING_DEPTH
 * without parsing at all, and numbers that are not finite wherever they are.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scanObjectRequest } from '../../../src/protocol/fast-path.js';
import { MAX_NAME_LENGTH, MAX_NESTING_DEPTH, parseRequest } from '../../../src/protocol/message.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');

function refusal(text: string): unknown {
  try {
    parseRequest(bytes(text));
  } catch (err) {
    const { code, id } = err as { code: string; id: unknown };
    return { code, id };
  }
  return 'accepted';
}

afterEach(() => vi.restoreAllMocks());

describe('parseRequest and nesting', () => {
  it('refuses 1 MB of [ without calling JSON.parse, echoing a leading id', () => {
    const parse = vi.spyOn(JSON, 'parse');
    expect(refusal(`{"id": 41, "op": "set", "type": "dict", "name": "d", "args": ["k", ${'['.repeat(1 << 20)}`)).toEqual({ code: 'BAD_REQUEST', id: 41 });
    expect(refusal(`{"id":"deep","args":[${'{"a":'.repeat(2000)}`)).toEqual({ code: 'BAD_REQUEST', id: 'deep' });
    expect(parse.mock.calls.filter(([text]) => String(text).length > 100)).toEqual([]);
  });

  it('answers a null id when the text does not begin with one', () => {
    expect(refusal(`{"op":"ping","id":1,"args":${'['.repeat(5000)}`)).toEqual({ code: 'BAD_REQUEST', id: null });
    expect(refusal('['.repeat(5000))).toEqual({ code: 'BAD_REQUEST', id: null });
  });

  it('accepts the deepest nesting allowed and ignores brackets in strings', () => {
    const depth = MAX_NESTING_DEPTH - 2;
    expect(refusal(`{"id":1,"op":"set","type":"dict","name":"d","args":["k",${'['.repeat(depth)}${']'.repeat(depth)}]}`)).toBe('accepted');
    expect(refusal(`{"id":1,"op":"set","type":"dict","name":"d","args":["k",${'['.repeat(depth + 1)}${']'.repeat(depth + 1)}]}`)).toMatchObject({ code: 'BAD_REQUEST' });
    const strings = JSON.stringify({ id: 1, op: 'set', type: 'dict', name: 'd', args: ['k', ['['.repeat(5000), '\\"[{', '\\\\', '"[[']] });
    expect(refusal(strings)).toBe('accepted');
  });
});

describe('parseRequest and numbers that are not finite', () => {
  const INFINITE = ['1e400', '-1e400', '1E+309', '0.5e309', '1' + '0'.repeat(309), '-' + '9'.repeat(400) + '.5'];
  for (const number of INFINITE) {
    it(`refuses ${number.length > 20 ? `${number.length} characters of digits` : number} with INVALID_ARGUMENT and the id`, () => {
      expect(refusal(`{"id":3,"op":"set","type":"dict","name":"d","args":["k",${number}]}`)).toEqual({ code: 'INVALID_ARGUMENT', id: 3 });
      expect(refusal(`{"id":4,"op":"set","type":"dict","name":"d","args":["k",{"a":[true,false,{"b":${number}}]}]}`)).toEqual({ code: 'INVALID_ARGUMENT', id: 4 });
      expect(refusal(`{"id":5,"op":"set","type":"dict","name":"d","args":["k",1],"init":{"x":${number}}}`)).toEqual({ code: 'INVALID_ARGUMENT', id: 5 });
    });
  }

  const FINITE = ['1e308', '-1.7976931348623157e308', '1e-400', '1' + '0'.repeat(307), '0.' + '0'.repeat(400) + '1', '"1e400"', 'true'];
  for (const number of FINITE) {
    it(`accepts ${number.length > 30 ? `${number.length} characters` : number}`, () => {
      expect(refusal(`{"id":3,"op":"set","type":"dict","name":"d","args":["k",[${number}]]}`)).toBe('accepted');
    });
  }

  it('leaves every number the fast path cannot read exactly to the general path', () => {
    for (const number of ['1e400', '1' + '0'.repeat(400), '1234567890123456', '1.5', '1E2']) {
      expect(scanObjectRequest(bytes(`{"id":1,"op":"set","type":"dict","name":"d","args":["k",${number}]}`), MAX_NAME_LENGTH)).toBeUndefined();
    }
    expect(scanObjectRequest(bytes('{"id":1,"op":"set","type":"dict","name":"d","args":["k",123456789012345]}'), MAX_NAME_LENGTH)?.args).toEqual(['k', 123456789012345]);
  });
});
