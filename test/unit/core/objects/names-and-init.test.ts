/** Names and creation parameters across types: one namespace, init checked against an existing object. Driven through the store and dispatch with fake sessions (test/helpers/primitives-world.ts). */
import { describe, expect, it } from 'vitest';
import type { BarrierState } from '../../../../src/core/objects/barrier.js';
import type { SemaphoreState } from '../../../../src/core/objects/semaphore.js';
import { codeOf } from '../../../helpers/assert.js';
import { Registry } from '../../../../src/core/memory-store.js';
import { sessions, World } from '../../../helpers/primitives-world.js';

describe('names and creation parameters', () => {
  const types: Array<[string, unknown]> = [
    ['dict', undefined],
    ['list', undefined],
    ['lock', undefined],
    ['rlock', undefined],
    ['semaphore', { value: 1 }],
    ['boundedSemaphore', { value: 1 }],
    ['event', undefined],
    ['condition', undefined],
    ['barrier', { parties: 2 }],
    ['queue', undefined],
  ];

  it('refuses a name used as another type with WRONG_TYPE naming the existing type, for every pair', () => {
    for (const [first, firstInit] of types) {
      for (const [second, secondInit] of types) {
        if (first === second) continue;
        const registry = new Registry();
        const created = registry.resolve(first, 'shared', firstInit);
        let error: any;
        try {
          registry.resolve(second, 'shared', secondInit);
        } catch (err) {
          error = err;
        }
        expect(error?.code, `${first} then ${second}`).toBe('WRONG_TYPE');
        expect(error.details).toEqual({ name: 'shared', type: first });
        expect(registry.resolve(first, 'shared')).toBe(created);
      }
    }
  });

  it('refuses a later request whose init contradicts the existing object with INVALID_ARGUMENT', () => {
    const world = new World();
    const [a] = sessions(1);
    const cases: Array<[string, unknown, unknown]> = [
      ['semaphore', { value: 2 }, { value: 3 }],
      ['boundedSemaphore', { value: 2 }, { value: 1 }],
      ['barrier', { parties: 3 }, { parties: 4 }],
      ['queue', { maxsize: 5 }, { maxsize: 6 }],
      ['queue', { maxsize: 5 }, {}],
      ['condition', { lock: 'L1' }, { lock: 'L2' }],
      ['condition', { lock: 'L1' }, {}],
    ];
    for (const [index, [type, init, other]] of cases.entries()) {
      const name = `${type}-${index}`;
      world.call(a!, type, name, 'state', [], init);
      expect(codeOf(() => world.call(a!, type, name, 'state', [], other)), `${type} ${JSON.stringify(other)}`).toBe('INVALID_ARGUMENT');
      // The same init, or none at all, joins the existing object.
      expect(() => world.call(a!, type, name, 'state', [], init)).not.toThrow();
      expect(() => world.call(a!, type, name, 'state')).not.toThrow();
    }
    expect(world.state<SemaphoreState>('semaphore', 'semaphore-0').initial).toBe(2);
    expect(world.state<BarrierState>('barrier', 'barrier-2').parties).toBe(3);
  });

  it('refuses a condition over a name that is not a lock with WRONG_TYPE, creating no condition', () => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'dict', 'notalock', 'size');
    expect(codeOf(() => world.call(a!, 'condition', 'C', 'state', [], { lock: 'notalock' }))).toBe('WRONG_TYPE');
    expect(codeOf(() => world.call(a!, 'condition', 'C', 'state', [], { lock: 42 }))).toBe('INVALID_ARGUMENT');
    expect(world.registry.size).toBe(1);
  });

  it('refuses an operation a type does not expose with UNKNOWN_METHOD', () => {
    const world = new World();
    const [a] = sessions(1);
    expect(codeOf(() => world.call(a!, 'lock', 'L', 'holder'))).toBe('UNKNOWN_METHOD');
    expect(codeOf(() => world.call(a!, 'queue', 'Q', 'constructor'))).toBe('UNKNOWN_METHOD');
  });
});
