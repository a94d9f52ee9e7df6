/** Event: the flag and its waiters. Driven through the store and dispatch with fake sessions (test/helpers/primitives-world.ts). */
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../helpers/assert.js';
import { flush, sessions, track, World } from '../../../helpers/primitives-world.js';

describe('event', () => {
  it('blocks waiters while clear and wakes every one of them with true on set', async () => {
    const world = new World();
    const [a, b, c] = sessions(3);
    const waits = [track(world.call(a!, 'event', 'E', 'wait')), track(world.call(b!, 'event', 'E', 'wait'))];
    await flush();
    expect(waits.map((w) => w.state)).toEqual(['pending', 'pending']);
    expect(world.call(c!, 'event', 'E', 'isSet')).toBe(false);
    expect(world.call(c!, 'event', 'E', 'set')).toBe(null);
    await flush();
    expect(waits.map((w) => [w.state, w.value])).toEqual([
      ['fulfilled', true],
      ['fulfilled', true],
    ]);
    expect(world.call(c!, 'event', 'E', 'isSet')).toBe(true);
  });

  it('answers a wait on a set event with true at once, and blocks again after clear', () => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'event', 'E', 'set');
    expect(world.call(a!, 'event', 'E', 'wait')).toBe(true);
    world.call(a!, 'event', 'E', 'clear');
    expect(world.call(a!, 'event', 'E', 'wait')).toBeInstanceOf(Promise);
  });

  it('resolves a timed-out wait with false (timeout 0 at once)', async () => {
    const world = new World();
    const [a] = sessions(1);
    expect(world.call(a!, 'event', 'E', 'wait', [0])).toBe(false);
    await expect(world.call(a!, 'event', 'E', 'wait', [0.02])).resolves.toBe(false);
    expect(a!.waiters.size).toBe(0);
  });

  it('wakes nobody when a set is rolled back in an atomic batch', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    const wait = track(world.call(a!, 'event', 'E', 'wait'));
    expect(codeOf(() => world.atomic(b!, [['event', 'E', 'set'], ['list', 'l', 'pop']]))).toBe('OUT_OF_RANGE');
    await flush();
    expect(wait.state).toBe('pending');
    expect(world.call(b!, 'event', 'E', 'isSet')).toBe(false);
  });
});
