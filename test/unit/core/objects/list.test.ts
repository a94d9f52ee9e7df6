/** List: Python-style indices and slices, and undo in atomic batches. Driven through the store and dispatch with fake sessions (test/helpers/primitives-world.ts). */
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../helpers/assert.js';
import { sessions, World } from '../../../helpers/primitives-world.js';

describe('list', () => {
  const filled = (values: unknown[]) => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'list', 'l', 'extend', [values]);
    const call = (op: string, ...args: unknown[]) => world.call(a!, 'list', 'l', op, args);
    return { world, call, items: () => call('slice') };
  };

  it('reads and writes with Python indices: negative counts from the end', () => {
    const { call, items } = filled(['a', 'b', 'c']);
    expect(call('get', 0)).toBe('a');
    expect(call('get', -1)).toBe('c');
    expect(call('get', -3)).toBe('a');
    call('set', -2, 'B');
    expect(items()).toEqual(['a', 'B', 'c']);
  });

  it('refuses indices past either end with OUT_OF_RANGE', () => {
    const { call, items } = filled(['a', 'b', 'c']);
    expect(codeOf(() => call('get', 3))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => call('get', -4))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => call('set', 3, 'x'))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => call('pop', -4))).toBe('OUT_OF_RANGE');
    expect(items()).toEqual(['a', 'b', 'c']);
    const empty = filled([]);
    expect(codeOf(() => empty.call('pop'))).toBe('OUT_OF_RANGE');
    expect(codeOf(() => empty.call('get', 0))).toBe('OUT_OF_RANGE');
  });

  it('inserts past either end at that end, and before the item at a negative index', () => {
    const { call, items } = filled(['a', 'b', 'c']);
    expect(call('insert', 100, 'end')).toBe(4);
    expect(call('insert', -100, 'start')).toBe(5);
    expect(call('insert', -1, 'before-last')).toBe(6);
    expect(call('insert', 1, 'second')).toBe(7);
    expect(items()).toEqual(['start', 'second', 'a', 'b', 'c', 'before-last', 'end']);
  });

  it('pops the last item by default, or the one at an index', () => {
    const { call, items } = filled([1, 2, 3, 4]);
    expect(call('pop')).toBe(4);
    expect(call('pop', 0)).toBe(1);
    expect(call('pop', -1)).toBe(3);
    expect(items()).toEqual([2]);
  });

  it('slices with Python rules: clamped bounds, negatives from the end, empty when start ≥ end', () => {
    const { call } = filled([0, 1, 2, 3, 4]);
    expect(call('slice')).toEqual([0, 1, 2, 3, 4]);
    expect(call('slice', 2)).toEqual([2, 3, 4]);
    expect(call('slice', -2)).toEqual([3, 4]);
    expect(call('slice', 1, -1)).toEqual([1, 2, 3]);
    expect(call('slice', null, 2)).toEqual([0, 1]);
    expect(call('slice', -100, 100)).toEqual([0, 1, 2, 3, 4]);
    expect(call('slice', 4, 2)).toEqual([]);
    expect(call('slice', 10)).toEqual([]);
    expect(call('slice', -1, -3)).toEqual([]);
  });

  it('removes and finds the first deep-equal item, or fails with VALUE_NOT_FOUND', () => {
    const { call, items } = filled([{ id: 1 }, [2], { id: 1 }, 'x']);
    expect(call('index', { id: 1 })).toBe(0);
    expect(call('index', [2])).toBe(1);
    call('remove', { id: 1 });
    expect(items()).toEqual([[2], { id: 1 }, 'x']);
    expect(codeOf(() => call('remove', { id: 2 }))).toBe('VALUE_NOT_FOUND');
    expect(codeOf(() => call('index', 'y'))).toBe('VALUE_NOT_FOUND');
    expect(items()).toEqual([[2], { id: 1 }, 'x']);
  });

  it('refuses non-integer indices and non-array extends with INVALID_ARGUMENT', () => {
    const { call } = filled([1, 2]);
    expect(codeOf(() => call('get', 0.5))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => call('get', '0'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => call('slice', 'a'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => call('insert', null, 1))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => call('extend', 'ab'))).toBe('INVALID_ARGUMENT');
  });

  it('undoes every change of a rolled-back atomic batch', () => {
    const { world, items } = filled([1, 2, 3]);
    const [a] = sessions(1);
    expect(
      codeOf(() =>
        world.atomic(a!, [
          ['list', 'l', 'append', [4]],
          ['list', 'l', 'extend', [[5, 6]]],
          ['list', 'l', 'set', [0, 'zero']],
          ['list', 'l', 'insert', [1, 'ins']],
          ['list', 'l', 'pop', [2]],
          ['list', 'l', 'remove', [3]],
          ['list', 'l', 'clear'],
          ['list', 'l', 'get', [0]],
        ]),
      ),
    ).toBe('OUT_OF_RANGE');
    expect(items()).toEqual([1, 2, 3]);
  });
});
