/** Barrier: parties meeting, timeouts, abort and reset. Driven through the store and dispatch with fake sessions (test/helpers/primitives-world.ts). */
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../helpers/assert.js';
import { flush, sessions, track, World } from '../../../helpers/primitives-world.js';

describe('barrier', () => {
  it('gives each party its arrival index 0..parties-1 and releases them together', async () => {
    const world = new World();
    const ss = sessions(3);
    const first = track(world.call(ss[0]!, 'barrier', 'B', 'wait', [], { parties: 3 }));
    const second = track(world.call(ss[1]!, 'barrier', 'B', 'wait'));
    await flush();
    expect([first.state, second.state]).toEqual(['pending', 'pending']);
    expect(world.call(ss[0]!, 'barrier', 'B', 'state')).toEqual({ parties: 3, waiting: 2, broken: false });
    expect(world.call(ss[2]!, 'barrier', 'B', 'wait')).toBe(2);
    await flush();
    expect([first.value, second.value]).toEqual([0, 1]);
    expect(world.call(ss[0]!, 'barrier', 'B', 'state')).toEqual({ parties: 3, waiting: 0, broken: false });
  });

  it('can be used again for the next round', async () => {
    const world = new World();
    const ss = sessions(2);
    for (let round = 0; round < 3; round++) {
      const w = track(world.call(ss[0]!, 'barrier', 'B', 'wait', [], { parties: 2 }));
      expect(world.call(ss[1]!, 'barrier', 'B', 'wait')).toBe(1);
      await flush();
      expect(w.value).toBe(0);
    }
  });

  it('passes a one-party barrier at once with index 0', () => {
    const world = new World();
    const [a] = sessions(1);
    expect(world.call(a!, 'barrier', 'solo', 'wait', [], { parties: 1 })).toBe(0);
  });

  it('breaks current and later waiters with BROKEN_BARRIER on abort, until reset', async () => {
    const world = new World();
    const [a, b, c] = sessions(3);
    const w = track(world.call(a!, 'barrier', 'B', 'wait', [], { parties: 2 }));
    world.call(b!, 'barrier', 'B', 'abort');
    await flush();
    expect(w.state).toBe('rejected');
    expect(w.error.code).toBe('BROKEN_BARRIER');
    expect(codeOf(() => world.call(c!, 'barrier', 'B', 'wait'))).toBe('BROKEN_BARRIER');
    world.call(c!, 'barrier', 'B', 'reset');
    const again = track(world.call(a!, 'barrier', 'B', 'wait'));
    expect(world.call(b!, 'barrier', 'B', 'wait')).toBe(1);
    await flush();
    expect(again.value).toBe(0);
  });

  it('breaks the current waiters on reset and stays usable', async () => {
    const world = new World();
    const [a, b, c] = sessions(3);
    const w = track(world.call(a!, 'barrier', 'B', 'wait', [], { parties: 2 }));
    world.call(b!, 'barrier', 'B', 'reset');
    await flush();
    expect(w.error?.code).toBe('BROKEN_BARRIER');
    expect(world.call(b!, 'barrier', 'B', 'state')).toEqual({ parties: 2, waiting: 0, broken: false });
    const next = track(world.call(b!, 'barrier', 'B', 'wait'));
    expect(world.call(c!, 'barrier', 'B', 'wait')).toBe(1);
    await flush();
    expect(next.value).toBe(0);
  });

  it('breaks the barrier for everyone when one party times out', async () => {
    const world = new World();
    const [a, b, c] = sessions(3);
    const patient = track(world.call(a!, 'barrier', 'B', 'wait', [], { parties: 3 }));
    const hasty = world.call(b!, 'barrier', 'B', 'wait', [0.02]) as Promise<unknown>;
    await expect(hasty).rejects.toMatchObject({ code: 'BROKEN_BARRIER' });
    await flush();
    expect(patient.state).toBe('rejected');
    expect(patient.error.code).toBe('BROKEN_BARRIER');
    expect(world.call(c!, 'barrier', 'B', 'state')).toEqual({ parties: 3, waiting: 0, broken: true });
    expect(codeOf(() => world.call(c!, 'barrier', 'B', 'wait'))).toBe('BROKEN_BARRIER');
  });

  it('gives a closed session\'s place back, so a replacement can complete the round', async () => {
    const world = new World();
    const [a, b, c] = sessions(3);
    const gone = track(world.call(a!, 'barrier', 'B', 'wait', [], { parties: 2 }));
    a!.close();
    await flush();
    expect(gone.error?.code).toBe('SHUTTING_DOWN');
    expect(world.call(b!, 'barrier', 'B', 'state')).toMatchObject({ waiting: 0, broken: false });
    const w = track(world.call(b!, 'barrier', 'B', 'wait'));
    expect(world.call(c!, 'barrier', 'B', 'wait')).toBe(1);
    await flush();
    expect(w.value).toBe(0);
  });

  it('needs parties ≥ 1 to be created (INVALID_ARGUMENT)', () => {
    const world = new World();
    const [a] = sessions(1);
    expect(codeOf(() => world.call(a!, 'barrier', 'B', 'wait'))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => world.call(a!, 'barrier', 'B', 'wait', [], { parties: 0 }))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => world.call(a!, 'barrier', 'B', 'wait', [], { parties: 2.5 }))).toBe('INVALID_ARGUMENT');
    expect(world.registry.size).toBe(0);
  });

  it('refuses wait, abort and reset inside an atomic batch (WOULD_BLOCK)', () => {
    const world = new World();
    const [a] = sessions(1);
    for (const op of ['wait', 'abort', 'reset']) {
      expect(codeOf(() => world.atomic(a!, [['barrier', 'B', op, [], { parties: 2 }]]))).toBe('WOULD_BLOCK');
    }
  });
});
