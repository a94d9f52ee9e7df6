/** Condition: waits over its own or a shared lock, notify, and re-acquiring after a wait. Driven through the store and dispatch with fake sessions (test/helpers/primitives-world.ts). */
import { describe, expect, it } from 'vitest';
import type { ConditionState } from '../../../../src/core/objects/condition.js';
import type { LockState } from '../../../../src/core/objects/lock.js';
import { codeOf } from '../../../helpers/assert.js';
import { flush, sessions, track, World } from '../../../helpers/primitives-world.js';

describe('condition', () => {
  it('refuses wait and notify from a caller that does not hold the lock (NOT_OWNER)', () => {
    const world = new World();
    const [a, b] = sessions(2);
    world.call(a!, 'condition', 'C', 'acquire');
    expect(codeOf(() => world.call(b!, 'condition', 'C', 'wait', ['forged']))).toBe('NOT_OWNER');
    expect(codeOf(() => world.call(b!, 'condition', 'C', 'notify', ['forged']))).toBe('NOT_OWNER');
    expect(codeOf(() => world.call(b!, 'condition', 'C', 'notifyAll', ['forged']))).toBe('NOT_OWNER');
    expect(codeOf(() => world.call(b!, 'condition', 'C', 'release', ['forged']))).toBe('NOT_OWNER');
  });

  it('releases the lock while waiting, wakes on notify, and holds it again (new fence) only once the notifier releases', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    const ga = world.call(a!, 'condition', 'C', 'acquire') as { token: string; fence: number };
    const wait = track(world.call(a!, 'condition', 'C', 'wait', [ga.token]));
    await flush();
    expect(world.call(b!, 'condition', 'C', 'state')).toEqual({ locked: false, waiting: 1 });
    const gb = world.call(b!, 'condition', 'C', 'acquire') as { token: string; fence: number };
    expect(world.call(b!, 'condition', 'C', 'notify', [gb.token])).toBe(1);
    await flush();
    expect(wait.state).toBe('pending'); // notified, but b still holds the lock
    world.call(b!, 'condition', 'C', 'release', [gb.token]);
    await flush();
    expect(wait.state).toBe('fulfilled');
    expect(wait.value).toMatchObject({ notified: true });
    expect(wait.value.fence).toBeGreaterThan(gb.fence);
    expect(world.call(a!, 'condition', 'C', 'owned', [ga.token])).toBe(true);
  });

  it('wakes waiters in FIFO order with notify(n), and all of them with notifyAll', async () => {
    const world = new World();
    const ss = sessions(5);
    const woken: number[] = [];
    for (let i = 0; i < 4; i++) {
      const g = world.call(ss[i]!, 'condition', 'C', 'acquire') as { token: string };
      void (world.call(ss[i]!, 'condition', 'C', 'wait', [g.token]) as Promise<unknown>).then(() => {
        woken.push(i);
        // Give the lock back so the next notified waiter can re-acquire.
        world.call(ss[i]!, 'condition', 'C', 'release', [g.token]);
      });
    }
    const notifier = ss[4]!;
    let g = world.call(notifier, 'condition', 'C', 'acquire') as { token: string };
    expect(world.call(notifier, 'condition', 'C', 'notify', [g.token, 2])).toBe(2);
    world.call(notifier, 'condition', 'C', 'release', [g.token]);
    await flush();
    expect(woken).toEqual([0, 1]);
    g = world.call(notifier, 'condition', 'C', 'acquire') as { token: string };
    expect(world.call(notifier, 'condition', 'C', 'notifyAll', [g.token])).toBe(2);
    expect(world.call(notifier, 'condition', 'C', 'notify', [g.token, 5])).toBe(0);
    world.call(notifier, 'condition', 'C', 'release', [g.token]);
    await flush();
    expect(woken).toEqual([0, 1, 2, 3]);
  });

  it('resolves a timed-out wait with notified false, holding the lock again', async () => {
    const world = new World();
    const [a] = sessions(1);
    const g = world.call(a!, 'condition', 'C', 'acquire') as { token: string };
    await expect(world.call(a!, 'condition', 'C', 'wait', [g.token, 0.02])).resolves.toMatchObject({ notified: false });
    expect(world.call(a!, 'condition', 'C', 'owned', [g.token])).toBe(true);
  });

  it('holds the lock again before answering a cancelled wait with ABORTED (waiting for it if needed)', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    const ga = world.call(a!, 'condition', 'C', 'acquire') as { token: string };
    const { result, requestId } = world.callWithId(a!, 'condition', 'C', 'wait', [ga.token]);
    const wait = track(result);
    await flush();
    const gb = world.call(b!, 'condition', 'C', 'acquire') as { token: string };
    expect(a!.cancel(requestId)).toBe(true);
    await flush();
    expect(wait.state).toBe('pending'); // cancelled, but b holds the lock: a queues for it
    world.call(b!, 'condition', 'C', 'release', [gb.token]);
    await flush();
    expect(wait.state).toBe('rejected');
    expect(wait.error.code).toBe('ABORTED');
    expect(world.call(a!, 'condition', 'C', 'owned', [ga.token])).toBe(true);
    expect(world.call(a!, 'condition', 'C', 'state')).toEqual({ locked: true, waiting: 0 });
  });

  it('does not take the lock back for a wait dropped because its session ended', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    const ga = world.call(a!, 'condition', 'C', 'acquire') as { token: string };
    const wait = track(world.call(a!, 'condition', 'C', 'wait', [ga.token]));
    a!.close();
    await flush();
    expect(wait.error?.code).toBe('SHUTTING_DOWN');
    expect(world.call(b!, 'condition', 'C', 'state')).toEqual({ locked: false, waiting: 0 });
  });

  it('shares the named lock given at creation with that lock\'s holders', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    const lockGrant = world.call(a!, 'lock', 'L', 'acquire') as { token: string };
    const viaCondition = track(world.call(b!, 'condition', 'C', 'acquire', [], { lock: 'L' }));
    await flush();
    expect(viaCondition.state).toBe('pending');
    expect((world.state<ConditionState>('condition', 'C')).lock).toBe(world.state<LockState>('lock', 'L'));
    world.call(a!, 'lock', 'L', 'release', [lockGrant.token]);
    await flush();
    expect(viaCondition.state).toBe('fulfilled');
    expect(world.call(a!, 'lock', 'L', 'locked')).toBe(true);
  });

  it('refuses wait inside an atomic batch with WOULD_BLOCK', () => {
    const world = new World();
    const [a] = sessions(1);
    const g = world.call(a!, 'condition', 'C', 'acquire') as { token: string };
    expect(codeOf(() => world.atomic(a!, [['condition', 'C', 'wait', [g.token]]]))).toBe('WOULD_BLOCK');
    expect(world.call(a!, 'condition', 'C', 'owned', [g.token])).toBe(true);
  });

  it('refuses a notify count that is not a whole number ≥ 0 (INVALID_ARGUMENT)', () => {
    const world = new World();
    const [a] = sessions(1);
    const g = world.call(a!, 'condition', 'C', 'acquire') as { token: string };
    expect(codeOf(() => world.call(a!, 'condition', 'C', 'notify', [g.token, -1]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => world.call(a!, 'condition', 'C', 'notify', [g.token, 1.5]))).toBe('INVALID_ARGUMENT');
  });
});
