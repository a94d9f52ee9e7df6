/** Semaphore and BoundedSemaphore: permits owned per acquisition, signalling releases, bounds. Driven through the store and dispatch with fake sessions (test/helpers/primitives-world.ts). */
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../helpers/assert.js';
import { flush, sessions, track, World } from '../../../helpers/primitives-world.js';

describe('semaphore', () => {
  it('starts with 1 permit by default and hands out distinct tokens while permits last', () => {
    const world = new World();
    const [a, b, c] = sessions(3);
    expect(world.call(a!, 'semaphore', 'one', 'value')).toBe(1);
    const p1 = world.call(a!, 'semaphore', 'S', 'acquire', [], { value: 2 }) as { token: string };
    const p2 = world.call(b!, 'semaphore', 'S', 'acquire') as { token: string };
    expect(p1.token).not.toBe(p2.token);
    expect(world.call(c!, 'semaphore', 'S', 'acquire')).toBeInstanceOf(Promise);
    expect(world.call(a!, 'semaphore', 'S', 'state')).toEqual({ value: 0, initial: 2, held: 2, waiting: 1 });
  });

  it('grants waiters in FIFO order as permits come back', async () => {
    const world = new World();
    const [holder, ...queue] = sessions(5);
    let permit = world.call(holder!, 'semaphore', 'S', 'acquire', [], { value: 1 }) as { token: string };
    const order: number[] = [];
    const waits = queue.map((session, i) =>
      (world.call(session, 'semaphore', 'S', 'acquire') as Promise<{ token: string }>).then((grant) => {
        order.push(i);
        return grant;
      }),
    );
    let owner = holder!;
    for (let i = 0; i < queue.length; i++) {
      world.call(owner, 'semaphore', 'S', 'release', [permit.token]);
      permit = await waits[i]!;
      owner = queue[i]!;
      await flush();
      expect(order).toEqual([...Array(i + 1).keys()]);
    }
    expect(world.call(owner, 'semaphore', 'S', 'state')).toEqual({ value: 0, initial: 1, held: 1, waiting: 0 });
  });

  it('refuses an unknown or already returned permit token with NOT_OWNER', () => {
    const world = new World();
    const [a] = sessions(1);
    const permit = world.call(a!, 'semaphore', 'S', 'acquire', [], { value: 2 }) as { token: string };
    expect(codeOf(() => world.call(a!, 'semaphore', 'S', 'release', ['forged']))).toBe('NOT_OWNER');
    world.call(a!, 'semaphore', 'S', 'release', [permit.token]);
    expect(codeOf(() => world.call(a!, 'semaphore', 'S', 'release', [permit.token]))).toBe('NOT_OWNER');
    expect(world.call(a!, 'semaphore', 'S', 'value')).toBe(2);
  });

  it('adds a permit on a release without a token, waking a waiter (signalling)', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    const wait = track(world.call(b!, 'semaphore', 'S', 'acquire', [], { value: 0 }));
    await flush();
    expect(wait.state).toBe('pending');
    expect(world.call(a!, 'semaphore', 'S', 'release')).toBe(null);
    await flush();
    expect(wait.state).toBe('fulfilled');
    expect(world.call(a!, 'semaphore', 'S', 'value')).toBe(0);
  });

  it('gives a closed session\'s permits back and grants the waiters', async () => {
    const world = new World();
    const [a, b, c] = sessions(3);
    world.call(a!, 'semaphore', 'S', 'acquire', [], { value: 2 });
    world.call(a!, 'semaphore', 'S', 'acquire');
    const waitB = track(world.call(b!, 'semaphore', 'S', 'acquire'));
    const waitC = track(world.call(c!, 'semaphore', 'S', 'acquire'));
    a!.close();
    await flush();
    expect(waitB.state).toBe('fulfilled');
    expect(waitC.state).toBe('fulfilled');
    expect(world.call(b!, 'semaphore', 'S', 'state')).toEqual({ value: 0, initial: 2, held: 2, waiting: 0 });
  });

  it('fails a timed-out acquire with TIMEOUT, and timeout 0 without waiting', async () => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'semaphore', 'S', 'acquire', [], { value: 1 });
    expect(codeOf(() => world.call(a!, 'semaphore', 'S', 'acquire', [0]))).toBe('TIMEOUT');
    await expect(world.call(a!, 'semaphore', 'S', 'acquire', [0.02]) as Promise<unknown>).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(world.call(a!, 'semaphore', 'S', 'state')).toMatchObject({ waiting: 0, value: 0 });
  });

  it('refuses an invalid initial value with INVALID_ARGUMENT and creates nothing', () => {
    const world = new World();
    const [a] = sessions(1);
    for (const value of [-1, 1.5, '2', null]) {
      expect(codeOf(() => world.call(a!, 'semaphore', 'bad', 'value', [], { value }))).toBe('INVALID_ARGUMENT');
    }
    expect(world.registry.size).toBe(0);
  });

  it('lets a plain semaphore rise above its initial value on extra releases', () => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'semaphore', 'S', 'release', [], { value: 1 });
    expect(world.call(a!, 'semaphore', 'S', 'value')).toBe(2);
  });
});

describe('boundedSemaphore', () => {
  it('refuses a release above its initial value with OUT_OF_RANGE, leaving the value alone', () => {
    const world = new World();
    const [a] = sessions(1);
    expect(codeOf(() => world.call(a!, 'boundedSemaphore', 'B', 'release', [], { value: 2 }))).toBe('OUT_OF_RANGE');
    expect(world.call(a!, 'boundedSemaphore', 'B', 'value')).toBe(2);
    const permit = world.call(a!, 'boundedSemaphore', 'B', 'acquire') as { token: string };
    world.call(a!, 'boundedSemaphore', 'B', 'release', [permit.token]);
    expect(codeOf(() => world.call(a!, 'boundedSemaphore', 'B', 'release'))).toBe('OUT_OF_RANGE');
    expect(world.call(a!, 'boundedSemaphore', 'B', 'value')).toBe(2);
  });

  it('never rises above its initial value, even when a held permit comes back after an anonymous release', () => {
    const world = new World();
    const [a, b] = sessions(2);
    world.call(a!, 'boundedSemaphore', 'B', 'acquire', [], { value: 2 });
    // One permit is out and will come back (by its token or when its session ends), so an
    // anonymous release now would take the semaphore to 3 once it does.
    expect(codeOf(() => world.call(b!, 'boundedSemaphore', 'B', 'release'))).toBe('OUT_OF_RANGE');
    a!.close();
    expect(world.call(b!, 'boundedSemaphore', 'B', 'value')).toBe(2);
  });
});
