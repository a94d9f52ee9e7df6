/** Lock and RLock: grants, fences, waits, timeouts, cancels and session ends. Driven through the store and dispatch with fake sessions (test/helpers/primitives-world.ts). */
import { describe, expect, it } from 'vitest';
import { codeOf } from '../../../helpers/assert.js';
import { flush, sessions, sleep, track, World } from '../../../helpers/primitives-world.js';

describe('lock', () => {
  it('grants a free lock at once with fence 1, depth 1, and records it as a holding of the session', () => {
    const world = new World();
    const [a] = sessions(1);
    const grant = world.call(a!, 'lock', 'L', 'acquire') as { token: string; fence: number; depth: number };
    expect(grant).toEqual({ token: expect.any(String), fence: 1, depth: 1 });
    expect(grant.token.length).toBeGreaterThanOrEqual(16);
    expect(a!.holdings.size).toBe(1);
    expect(world.call(a!, 'lock', 'L', 'locked')).toBe(true);
    expect(world.call(a!, 'lock', 'L', 'owned', [grant.token])).toBe(true);
  });

  it('grants waiters in FIFO order, one holder at a time', async () => {
    const world = new World();
    const [owner, ...queue] = sessions(5);
    let held = world.call(owner!, 'lock', 'L', 'acquire') as { token: string };
    const order: number[] = [];
    const waits = queue.map((session, i) => {
      const result = world.call(session, 'lock', 'L', 'acquire') as Promise<{ token: string }>;
      expect(result).toBeInstanceOf(Promise);
      return result.then((grant) => {
        order.push(i);
        return grant;
      });
    });
    expect(world.call(owner!, 'lock', 'L', 'state')).toEqual({ locked: true, fence: 1, waiting: 4 });
    let holder = owner!;
    for (let i = 0; i < queue.length; i++) {
      await flush();
      expect(order).toEqual([...Array(i).keys()]);
      expect(world.call(holder, 'lock', 'L', 'release', [held.token])).toBe(0);
      held = await waits[i]!;
      holder = queue[i]!;
      expect(world.call(holder, 'lock', 'L', 'owned', [held.token])).toBe(true);
    }
    expect(order).toEqual([0, 1, 2, 3]);
    expect(world.call(holder, 'lock', 'L', 'state')).toEqual({ locked: true, fence: 5, waiting: 0 });
  });

  it('does not let a newcomer overtake a queued waiter when the lock is released', async () => {
    const world = new World();
    const [a, b, c] = sessions(3);
    const grantA = world.call(a!, 'lock', 'L', 'acquire') as { token: string };
    const waitB = track(world.call(b!, 'lock', 'L', 'acquire'));
    world.call(a!, 'lock', 'L', 'release', [grantA.token]);
    const newcomer = world.call(c!, 'lock', 'L', 'acquire');
    expect(newcomer).toBeInstanceOf(Promise);
    await flush();
    expect(waitB.state).toBe('fulfilled');
    expect(track(newcomer).state).toBe('pending');
  });

  it('refuses release by a token that does not hold it with NOT_OWNER, leaving the holder alone', () => {
    const world = new World();
    const [a, b] = sessions(2);
    const grant = world.call(a!, 'lock', 'L', 'acquire') as { token: string };
    expect(codeOf(() => world.call(b!, 'lock', 'L', 'release', ['not-the-token']))).toBe('NOT_OWNER');
    expect(world.call(a!, 'lock', 'L', 'owned', [grant.token])).toBe(true);
    world.call(a!, 'lock', 'L', 'release', [grant.token]);
    // Releasing twice, or releasing a free lock, is NOT_OWNER too.
    expect(codeOf(() => world.call(a!, 'lock', 'L', 'release', [grant.token]))).toBe('NOT_OWNER');
  });

  it('refuses a stale token after the lock has passed to another holder', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    const first = world.call(a!, 'lock', 'L', 'acquire') as { token: string };
    const second = world.call(b!, 'lock', 'L', 'acquire') as Promise<{ token: string }>;
    world.call(a!, 'lock', 'L', 'release', [first.token]);
    const grantB = await second;
    expect(codeOf(() => world.call(a!, 'lock', 'L', 'release', [first.token]))).toBe('NOT_OWNER');
    expect(world.call(a!, 'lock', 'L', 'owned', [first.token])).toBe(false);
    expect(world.call(b!, 'lock', 'L', 'owned', [grantB.token])).toBe(true);
  });

  it('issues strictly increasing fences across holders, session ends and timed-out waits', async () => {
    const world = new World();
    const fences: number[] = [];
    const [a, b, c, d] = sessions(4);
    const ga = world.call(a!, 'lock', 'L', 'acquire') as { token: string; fence: number };
    fences.push(ga.fence);
    const timedOut = track(world.call(d!, 'lock', 'L', 'acquire', [0.01]));
    const wb = world.call(b!, 'lock', 'L', 'acquire') as Promise<{ token: string; fence: number }>;
    const wc = world.call(c!, 'lock', 'L', 'acquire') as Promise<{ token: string; fence: number }>;
    await sleep(30);
    expect(timedOut.state).toBe('rejected');
    world.call(a!, 'lock', 'L', 'release', [ga.token]);
    const gb = await wb;
    fences.push(gb.fence);
    b!.close(); // b dies holding it: the server releases it and c gets it
    const gc = await wc;
    fences.push(gc.fence);
    world.call(c!, 'lock', 'L', 'release', [gc.token]);
    const again = world.call(a!, 'lock', 'L', 'acquire') as { fence: number };
    fences.push(again.fence);
    for (let i = 1; i < fences.length; i++) expect(fences[i]).toBeGreaterThan(fences[i - 1]!);
    expect(fences).toEqual([1, 2, 3, 4]);
  });

  it('releases a closed session\'s grant, tells it with a lock-lost event, and grants the next waiter', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    const grant = world.call(a!, 'lock', 'L', 'acquire') as { token: string; fence: number };
    const waitB = track(world.call(b!, 'lock', 'L', 'acquire'));
    a!.close('session-timeout');
    await flush();
    expect(a!.events).toEqual([{ event: 'lock-lost', data: { name: 'L', token: grant.token, fence: 1, reason: 'session-timeout' } }]);
    expect(a!.holdings.size).toBe(0);
    expect(waitB.state).toBe('fulfilled');
    expect(waitB.value.fence).toBe(2);
    expect(b!.holdings.size).toBe(1);
  });

  it('drops the waits of a closed session with SHUTTING_DOWN and skips them when granting', async () => {
    const world = new World();
    const [a, b, c] = sessions(3);
    const grant = world.call(a!, 'lock', 'L', 'acquire') as { token: string };
    const waitB = track(world.call(b!, 'lock', 'L', 'acquire'));
    const waitC = track(world.call(c!, 'lock', 'L', 'acquire'));
    b!.close();
    await flush();
    expect(waitB.state).toBe('rejected');
    expect(waitB.error.code).toBe('SHUTTING_DOWN');
    expect(world.call(a!, 'lock', 'L', 'state')).toMatchObject({ waiting: 1 });
    world.call(a!, 'lock', 'L', 'release', [grant.token]);
    await flush();
    expect(waitC.state).toBe('fulfilled');
    expect(b!.holdings.size).toBe(0);
  });

  it('fails a timed-out acquire with TIMEOUT and removes it from the queue', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    world.call(a!, 'lock', 'L', 'acquire');
    const started = Date.now();
    const wait = world.call(b!, 'lock', 'L', 'acquire', [0.05]) as Promise<unknown>;
    await expect(wait).rejects.toMatchObject({ code: 'TIMEOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(world.call(a!, 'lock', 'L', 'state')).toMatchObject({ waiting: 0 });
    expect(b!.waiters.size).toBe(0);
  });

  it('answers timeout 0 on a held lock with TIMEOUT at once, without queueing', () => {
    const world = new World();
    const [a, b] = sessions(2);
    world.call(a!, 'lock', 'L', 'acquire');
    expect(codeOf(() => world.call(b!, 'lock', 'L', 'acquire', [0]))).toBe('TIMEOUT');
    expect(world.call(a!, 'lock', 'L', 'state')).toMatchObject({ waiting: 0 });
  });

  it('fails a cancelled acquire with ABORTED and never grants it', async () => {
    const world = new World();
    const [a, b, c] = sessions(3);
    const grant = world.call(a!, 'lock', 'L', 'acquire') as { token: string };
    const { result, requestId } = world.callWithId(b!, 'lock', 'L', 'acquire');
    const waitB = track(result);
    const waitC = track(world.call(c!, 'lock', 'L', 'acquire'));
    expect(b!.cancel(requestId)).toBe(true);
    expect(b!.cancel(requestId)).toBe(false);
    world.call(a!, 'lock', 'L', 'release', [grant.token]);
    await flush();
    expect(waitB.state).toBe('rejected');
    expect(waitB.error.code).toBe('ABORTED');
    expect(waitC.state).toBe('fulfilled');
    expect(b!.holdings.size).toBe(0);
  });

  it('refuses to re-enter a plain lock with INVALID_ARGUMENT', () => {
    const world = new World();
    const [a] = sessions(1);
    const grant = world.call(a!, 'lock', 'L', 'acquire') as { token: string };
    expect(codeOf(() => world.call(a!, 'lock', 'L', 'acquire', [null, grant.token]))).toBe('INVALID_ARGUMENT');
  });

  it('rejects bad timeouts with INVALID_ARGUMENT', () => {
    const world = new World();
    const [a] = sessions(1);
    expect(codeOf(() => world.call(a!, 'lock', 'L', 'acquire', [-1]))).toBe('INVALID_ARGUMENT');
    expect(codeOf(() => world.call(a!, 'lock', 'L', 'acquire', ['1']))).toBe('INVALID_ARGUMENT');
    expect(world.call(a!, 'lock', 'L', 'locked')).toBe(false);
  });

  it('undoes an acquire rolled back in an atomic batch: free again, same next fence, nothing held', () => {
    const world = new World();
    const [a] = sessions(1);
    expect(() => world.atomic(a!, [['lock', 'L', 'acquire'], ['list', 'l', 'pop']])).toThrow(expect.objectContaining({ code: 'OUT_OF_RANGE' }));
    expect(world.call(a!, 'lock', 'L', 'state')).toEqual({ locked: false, fence: 0, waiting: 0 });
    expect(a!.holdings.size).toBe(0);
    expect((world.call(a!, 'lock', 'L', 'acquire') as { fence: number }).fence).toBe(1);
  });

  it('does not let an atomic release-then-acquire overtake a queued waiter (WOULD_BLOCK)', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    const grant = world.call(a!, 'lock', 'L', 'acquire') as { token: string };
    const waitB = track(world.call(b!, 'lock', 'L', 'acquire'));
    expect(codeOf(() => world.atomic(a!, [['lock', 'L', 'release', [grant.token]], ['lock', 'L', 'acquire']]))).toBe('WOULD_BLOCK');
    // Rolled back: a still holds it and b still waits.
    expect(world.call(a!, 'lock', 'L', 'owned', [grant.token])).toBe(true);
    await flush();
    expect(waitB.state).toBe('pending');
  });
});

describe('rlock', () => {
  it('re-enters through its token, counts depth, and frees the lock only at depth 0', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    const grant = world.call(a!, 'rlock', 'R', 'acquire') as { token: string; fence: number; depth: number };
    expect(grant.depth).toBe(1);
    expect(world.call(a!, 'rlock', 'R', 'acquire', [null, grant.token])).toEqual({ token: grant.token, fence: 1, depth: 2 });
    expect(world.call(a!, 'rlock', 'R', 'acquire', [null, grant.token])).toMatchObject({ depth: 3 });
    const waitB = track(world.call(b!, 'rlock', 'R', 'acquire'));
    expect(world.call(a!, 'rlock', 'R', 'release', [grant.token])).toBe(2);
    expect(world.call(a!, 'rlock', 'R', 'release', [grant.token])).toBe(1);
    await flush();
    expect(waitB.state).toBe('pending');
    expect(world.call(a!, 'rlock', 'R', 'release', [grant.token])).toBe(0);
    await flush();
    expect(waitB.state).toBe('fulfilled');
    expect(waitB.value).toMatchObject({ depth: 1, fence: 2 });
  });

  it('makes an acquire without the token wait, even from the holding session (ownership is per acquisition)', async () => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'rlock', 'R', 'acquire');
    const second = world.call(a!, 'rlock', 'R', 'acquire');
    expect(second).toBeInstanceOf(Promise);
    await flush();
    expect(track(second).state).toBe('pending');
  });

  it('refuses re-entry with a token that does not hold it (NOT_OWNER)', () => {
    const world = new World();
    const [a, b] = sessions(2);
    world.call(a!, 'rlock', 'R', 'acquire');
    expect(codeOf(() => world.call(b!, 'rlock', 'R', 'acquire', [null, 'forged']))).toBe('NOT_OWNER');
  });

  it('releases every level at once when the holding session closes', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    const grant = world.call(a!, 'rlock', 'R', 'acquire') as { token: string };
    world.call(a!, 'rlock', 'R', 'acquire', [null, grant.token]);
    world.call(a!, 'rlock', 'R', 'acquire', [null, grant.token]);
    const waitB = track(world.call(b!, 'rlock', 'R', 'acquire'));
    a!.close();
    await flush();
    expect(waitB.state).toBe('fulfilled');
    expect(waitB.value.depth).toBe(1);
  });

  it('undoes a re-entry rolled back in an atomic batch', () => {
    const world = new World();
    const [a] = sessions(1);
    const grant = world.call(a!, 'rlock', 'R', 'acquire') as { token: string };
    expect(codeOf(() => world.atomic(a!, [['rlock', 'R', 'acquire', [null, grant.token]], ['list', 'l', 'pop']]))).toBe('OUT_OF_RANGE');
    expect(world.call(a!, 'rlock', 'R', 'release', [grant.token])).toBe(0);
  });
});
