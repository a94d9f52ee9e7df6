/** The shared dict's operations table, called directly: no server, no socket. */
import { beforeEach, describe, expect, it } from 'vitest';
import { dictType, type DictState } from '../../../../src/core/objects/dict.js';
import { MemoryStore } from '../../../../src/core/memory-store.js';
import { codeOf } from '../../../helpers/assert.js';

let store: MemoryStore;
let dict: DictState;
/** Runs one dict operation in a transaction of its own, as a request does. */
const call = (op: string, ...args: unknown[]): unknown => {
  const operation = dictType.ops.get(op);
  if (operation === undefined) throw new Error(`no dict op ${op}`);
  const tx = store.begin();
  const result = operation(dict, args, tx);
  tx.commit();
  return result;
};


const snapshot = (): Array<[string, unknown]> => structuredClone([...dict]);

beforeEach(() => {
  store = new MemoryStore();
  dict = store.resolve('dict', 'd').state as DictState;
});

describe('dictType', () => {
  it('is named "dict" and starts empty', () => {
    expect(dictType.name).toBe('dict');
    expect(dict.size).toBe(0);
  });

  describe('#get', () => {
    it('returns the stored value', () => {
      call('set', 'k', { a: [1, 2] });
      expect(call('get', 'k')).toEqual({ a: [1, 2] });
    });

    it('returns null for a missing key when no default is given', () => {
      expect(call('get', 'missing')).toBeNull();
    });

    it('returns the default for a missing key', () => {
      expect(call('get', 'missing', 42)).toBe(42);
      expect(call('get', 'missing', { x: 1 })).toEqual({ x: 1 });
    });

    it('returns a stored null rather than the default', () => {
      call('set', 'k', null);
      expect(call('get', 'k', 'fallback')).toBeNull();
    });

    it('returns stored falsy values (0, "", false) rather than the default', () => {
      call('update', { zero: 0, empty: '', no: false });
      expect(call('get', 'zero', 9)).toBe(0);
      expect(call('get', 'empty', 9)).toBe('');
      expect(call('get', 'no', 9)).toBe(false);
    });
  });

  describe('#set', () => {
    it('stores a value and returns null', () => {
      expect(call('set', 'k', 1)).toBeNull();
      expect(dict.get('k')).toBe(1);
    });

    it('replaces an existing value', () => {
      call('set', 'k', 1);
      call('set', 'k', 'two');
      expect(call('get', 'k')).toBe('two');
      expect(call('size')).toBe(1);
    });
  });

  describe('#has', () => {
    it('tells whether a key is present, even when its value is null', () => {
      expect(call('has', 'k')).toBe(false);
      call('set', 'k', null);
      expect(call('has', 'k')).toBe(true);
    });
  });

  describe('#delete', () => {
    it('removes a key and returns true when it existed, false otherwise', () => {
      call('set', 'k', 1);
      expect(call('delete', 'k')).toBe(true);
      expect(call('has', 'k')).toBe(false);
      expect(call('delete', 'k')).toBe(false);
    });
  });

  describe('#update', () => {
    it('sets every entry of an object', () => {
      call('set', 'a', 0);
      expect(call('update', { a: 1, b: 2 })).toBeNull();
      expect(Object.fromEntries(dict)).toEqual({ a: 1, b: 2 });
    });

    it('sets every entry of an array of [key, value] pairs, in order', () => {
      call('update', [['a', 1], ['b', 2], ['a', 3]]);
      expect(snapshot()).toEqual([['a', 3], ['b', 2]]);
    });

    it('applies nothing when one pair of the array is malformed', () => {
      call('set', 'a', 'before');
      const before = snapshot();
      const bad: unknown[] = [
        [['a', 1], ['b', 2], [3, 'not a string key']],
        [['a', 1], ['b']],
        [['a', 1], ['b', 2, 3]],
        [['a', 1], 'b'],
        [['a', 1], null],
      ];
      for (const entries of bad) {
        expect(codeOf(() => call('update', entries))).toBe('INVALID_ARGUMENT');
        expect(snapshot()).toEqual(before);
      }
    });

    it('rejects entries that are neither an object nor an array, changing nothing', () => {
      call('set', 'a', 1);
      for (const entries of ['ab', 7, null, true]) {
        expect(codeOf(() => call('update', entries))).toBe('INVALID_ARGUMENT');
      }
      expect(snapshot()).toEqual([['a', 1]]);
    });
  });

  describe('#incr', () => {
    it('adds 1 by default and returns the new value', () => {
      call('set', 'n', 5);
      expect(call('incr', 'n')).toBe(6);
      expect(call('get', 'n')).toBe(6);
    });

    it('adds N, including negative and fractional N', () => {
      call('set', 'n', 10);
      expect(call('incr', 'n', 5)).toBe(15);
      expect(call('incr', 'n', -20)).toBe(-5);
      expect(call('incr', 'n', 0.5)).toBe(-4.5);
    });

    it('counts a missing key as 0', () => {
      expect(call('incr', 'fresh')).toBe(1);
      expect(call('incr', 'other', 7)).toBe(7);
    });

    it('fails with WRONG_TYPE on a non-number and leaves the value unchanged', () => {
      const values: unknown[] = ['5', true, [1], { n: 1 }, null];
      for (const value of values) {
        call('set', 'k', value);
        expect(codeOf(() => call('incr', 'k'))).toBe('WRONG_TYPE');
        expect(call('get', 'k', 'gone')).toEqual(value);
      }
    });

    it('fails with OUT_OF_RANGE when the result is not finite, and leaves the value unchanged', () => {
      call('set', 'big', Number.MAX_VALUE);
      expect(codeOf(() => call('incr', 'big', Number.MAX_VALUE))).toBe('OUT_OF_RANGE');
      expect(call('get', 'big')).toBe(Number.MAX_VALUE);
      call('set', 'low', -Number.MAX_VALUE);
      expect(codeOf(() => call('incr', 'low', -Number.MAX_VALUE))).toBe('OUT_OF_RANGE');
    });

    it('fails with INVALID_ARGUMENT on a `by` that is not a finite number, changing nothing', () => {
      call('set', 'n', 1);
      for (const by of ['1', null, true, Number.NaN, Number.POSITIVE_INFINITY, [1]]) {
        expect(codeOf(() => call('incr', 'n', by))).toBe('INVALID_ARGUMENT');
      }
      expect(call('get', 'n')).toBe(1);
      expect(codeOf(() => call('incr', 'missing', 'x'))).toBe('INVALID_ARGUMENT');
      expect(call('has', 'missing')).toBe(false);
    });
  });

  describe('#keys, #values, #items, #size', () => {
    it('list the entries in insertion order', () => {
      call('set', 'b', 1);
      call('set', 'a', [2]);
      call('set', 'c', null);
      expect(call('keys')).toEqual(['b', 'a', 'c']);
      expect(call('values')).toEqual([1, [2], null]);
      expect(call('items')).toEqual([['b', 1], ['a', [2]], ['c', null]]);
      expect(call('size')).toBe(3);
    });

    it('return empty results for an empty dict', () => {
      expect(call('keys')).toEqual([]);
      expect(call('values')).toEqual([]);
      expect(call('items')).toEqual([]);
      expect(call('size')).toBe(0);
    });

    it('return arrays the caller may change without changing the dict', () => {
      call('set', 'a', 1);
      (call('keys') as string[]).push('x');
      (call('items') as unknown[]).length = 0;
      expect(call('keys')).toEqual(['a']);
    });
  });

  describe('#clear', () => {
    it('removes every key', () => {
      call('update', { a: 1, b: 2 });
      expect(call('clear')).toBeNull();
      expect(call('size')).toBe(0);
    });
  });

  describe('#pop', () => {
    it('removes a key and returns its value', () => {
      call('set', 'k', { v: 1 });
      expect(call('pop', 'k')).toEqual({ v: 1 });
      expect(call('has', 'k')).toBe(false);
    });

    it('returns the default for a missing key', () => {
      expect(call('pop', 'missing', 'dflt')).toBe('dflt');
      expect(call('pop', 'missing', null)).toBeNull();
    });

    it('fails with KEY_NOT_FOUND for a missing key without a default', () => {
      expect(codeOf(() => call('pop', 'missing'))).toBe('KEY_NOT_FOUND');
    });

    it('removes a key whose value is null and returns null', () => {
      call('set', 'k', null);
      expect(call('pop', 'k', 'dflt')).toBeNull();
      expect(call('has', 'k')).toBe(false);
    });
  });

  describe('#setdefault', () => {
    it('sets a missing key and returns the value', () => {
      expect(call('setdefault', 'k', [1])).toEqual([1]);
      expect(call('get', 'k')).toEqual([1]);
    });

    it('keeps an existing value (even null) and returns it', () => {
      call('set', 'k', 'old');
      expect(call('setdefault', 'k', 'new')).toBe('old');
      call('set', 'n', null);
      expect(call('setdefault', 'n', 'new')).toBeNull();
      expect(call('get', 'n', 'gone')).toBeNull();
    });
  });

  describe('#compareAndSet', () => {
    it('sets the new value when the current one equals the expected one', () => {
      call('set', 'k', 1);
      expect(call('compareAndSet', 'k', 1, 2)).toBe(true);
      expect(call('get', 'k')).toBe(2);
    });

    it('changes nothing and returns false when they differ', () => {
      call('set', 'k', 1);
      expect(call('compareAndSet', 'k', 2, 3)).toBe(false);
      expect(call('compareAndSet', 'k', '1', 3)).toBe(false);
      expect(call('get', 'k')).toBe(1);
    });

    it('compares deeply, ignoring the order of object keys', () => {
      call('set', 'k', { a: 1, b: { c: [1, { d: null }] } });
      expect(call('compareAndSet', 'k', JSON.parse('{"b":{"c":[1,{"d":null}]},"a":1}'), 'next')).toBe(true);
      expect(call('get', 'k')).toBe('next');
    });

    it('tells arrays apart by order and objects by keys and values', () => {
      call('set', 'k', { list: [1, 2], o: { x: 1 } });
      expect(call('compareAndSet', 'k', { list: [2, 1], o: { x: 1 } }, 'no')).toBe(false);
      expect(call('compareAndSet', 'k', { list: [1, 2], o: { x: 1, y: 2 } }, 'no')).toBe(false);
      expect(call('compareAndSet', 'k', { list: [1, 2], o: { y: 1 } }, 'no')).toBe(false);
      expect(call('compareAndSet', 'k', { list: [1, 2] }, 'no')).toBe(false);
      expect(call('get', 'k')).toEqual({ list: [1, 2], o: { x: 1 } });
    });

    it('treats a missing key as null, so (key, null, v) creates it', () => {
      expect(call('compareAndSet', 'k', 0, 'no')).toBe(false);
      expect(call('has', 'k')).toBe(false);
      expect(call('compareAndSet', 'k', null, 'yes')).toBe(true);
      expect(call('get', 'k')).toBe('yes');
      expect(call('compareAndSet', 'k', null, 'again')).toBe(false);
    });

    it('matches a stored null with an expected null', () => {
      call('set', 'k', null);
      expect(call('compareAndSet', 'k', null, 1)).toBe(true);
      expect(call('get', 'k')).toBe(1);
    });
  });

  describe('#getMany', () => {
    it('returns the values in the order asked, null for missing keys', () => {
      call('update', { a: 1, b: 2 });
      expect(call('getMany', ['b', 'missing', 'a'])).toEqual([2, null, 1]);
    });

    it('uses the default for missing keys but keeps stored nulls', () => {
      call('update', { a: 1, n: null });
      expect(call('getMany', ['a', 'missing', 'n'], 0)).toEqual([1, 0, null]);
    });

    it('fails with INVALID_ARGUMENT when keys is not an array of strings', () => {
      expect(codeOf(() => call('getMany', 'a'))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => call('getMany', ['a', 1]))).toBe('INVALID_ARGUMENT');
    });
  });

  describe('#setMany', () => {
    it('sets every entry, from an object or from pairs', () => {
      call('setMany', { a: 1, b: 2 });
      call('setMany', [['c', 3]]);
      expect(Object.fromEntries(dict)).toEqual({ a: 1, b: 2, c: 3 });
    });

    it('applies nothing on bad input', () => {
      call('set', 'a', 0);
      expect(codeOf(() => call('setMany', [['a', 1], [2, 2]]))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => call('setMany', 'a'))).toBe('INVALID_ARGUMENT');
      expect(snapshot()).toEqual([['a', 0]]);
    });
  });

  describe('arguments', () => {
    const arities: Array<[string, number[], number[]]> = [
      // op, argument counts that fail, argument counts that pass
      ['get', [0, 3], [1, 2]],
      ['set', [0, 1, 3], [2]],
      ['has', [0, 2], [1]],
      ['delete', [0, 2], [1]],
      ['incr', [0, 3], [1, 2]],
      ['keys', [1], [0]],
      ['values', [1], [0]],
      ['items', [1], [0]],
      ['size', [1], [0]],
      ['clear', [1], [0]],
      ['pop', [0, 3], [2]],
      ['setdefault', [0, 1, 3], [2]],
      ['compareAndSet', [0, 1, 2, 4], [3]],
    ];
    for (const [op, bad, good] of arities) {
      it(`${op} fails with INVALID_ARGUMENT on ${bad.join(' or ')} argument(s) and changes nothing`, () => {
        call('set', 'k', 1);
        const before = snapshot();
        // A valid first argument, so only the count is wrong.
        const argsOf = (n: number): unknown[] => Array.from({ length: n }, (_, i) => (i === 0 ? 'k' : 1));
        for (const n of bad) {
          expect(codeOf(() => call(op, ...argsOf(n)))).toBe('INVALID_ARGUMENT');
          expect(snapshot()).toEqual(before);
        }
        for (const n of good) expect(() => call(op, ...argsOf(n))).not.toThrow();
      });
    }

    it('update, setMany and getMany take one entries/keys argument (getMany an optional default)', () => {
      for (const op of ['update', 'setMany']) {
        expect(codeOf(() => call(op))).toBe('INVALID_ARGUMENT');
        expect(codeOf(() => call(op, { a: 1 }, { b: 2 }))).toBe('INVALID_ARGUMENT');
      }
      expect(codeOf(() => call('getMany'))).toBe('INVALID_ARGUMENT');
      expect(codeOf(() => call('getMany', ['a'], null, null))).toBe('INVALID_ARGUMENT');
      expect(dict.size).toBe(0);
    });

    it('fails with INVALID_ARGUMENT when a key is not a string', () => {
      for (const [op, rest] of [['get', []], ['set', [1]], ['has', []], ['delete', []], ['incr', []], ['pop', [0]], ['setdefault', [1]], ['compareAndSet', [null, 1]]] as const) {
        for (const key of [1, null, ['k'], { k: 1 }]) {
          expect(codeOf(() => call(op, key, ...rest))).toBe('INVALID_ARGUMENT');
        }
      }
      expect(dict.size).toBe(0);
    });
  });

  describe('keys named like Object.prototype members', () => {
    const specials = ['__proto__', 'constructor', 'toString', 'hasOwnProperty'];

    it('are ordinary keys for get, set, has, delete, incr and pop', () => {
      for (const key of specials) {
        expect(call('has', key)).toBe(false);
        expect(call('get', key)).toBeNull();
        expect(call('incr', key)).toBe(1);
        call('set', key, { polluted: true });
        expect(call('get', key)).toEqual({ polluted: true });
        expect(call('pop', key)).toEqual({ polluted: true });
        expect(call('delete', key)).toBe(false);
      }
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('are ordinary keys in update, setMany and getMany entries given as an object', () => {
      // JSON.parse makes "__proto__" an own key, as the server's request parser does.
      const entries = JSON.parse('{"__proto__": {"polluted": true}, "constructor": 1}');
      call('update', entries);
      expect(call('keys')).toEqual(['__proto__', 'constructor']);
      expect(call('getMany', ['__proto__', 'constructor'])).toEqual([{ polluted: true }, 1]);
      call('setMany', JSON.parse('{"__proto__": 2}'));
      expect(call('get', '__proto__')).toBe(2);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('compare equal in compareAndSet when an object value has an own "__proto__" key', () => {
      call('set', 'k', JSON.parse('{"__proto__": {"a": 1}}'));
      expect(call('compareAndSet', 'k', {}, 'no')).toBe(false);
      expect(call('compareAndSet', 'k', JSON.parse('{"__proto__": {"a": 2}}'), 'no')).toBe(false);
      expect(call('compareAndSet', 'k', JSON.parse('{"__proto__": {"a": 1}}'), 'yes')).toBe(true);
    });
  });

  describe('inside an atomic batch', () => {
    it('keeps inverses that restore every changed key, added or removed, in its place', () => {
      dict.set('a', 1);
      dict.set('b', 2);
      const before = snapshot();
      const context = store.begin(undefined, 1, true);
      const run = (op: string, ...args: unknown[]) => dictType.ops.get(op)!(dict, args, context);
      run('set', 'a', 10);
      run('update', { b: 20, c: 30 });
      run('incr', 'n', 5);
      run('delete', 'a');
      run('pop', 'b');
      run('setdefault', 'd', 1);
      run('compareAndSet', 'c', 30, 31);
      run('clear');
      run('setMany', [['e', 1]]);
      context.rollback();
      // Order too: a deleted key is put back where it was (the log, which never saw the batch, keeps it there).
      expect(snapshot()).toEqual(before);
    });
  });
});
