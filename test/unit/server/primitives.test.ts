/**
 * The coordination primitives as state machines: locks, rlocks, semaphores, events, conditions,
 * barriers, queues and lists, driven through a Registry and dispatchObjectOp with fake sessions
 * and request contexts. No sockets, no server: grants, waits, timeouts, cancels and session ends
 * are triggered by hand and their order checked exactly.
 */
import { describe, expect, it } from 'vitest';
import { OperationError } from '../../../src/errors.js';
import type { Request } from '../../../src/protocol/message.js';
import { dispatchObjectOp } from '../../../src/core/dispatch.js';
import type { BarrierState } from '../../../src/core/objects/barrier.js';
import type { ConditionState } from '../../../src/core/objects/condition.js';
import type { LockState } from '../../../src/core/objects/lock.js';
import type { QueueState } from '../../../src/core/objects/queue.js';
import type { SemaphoreState } from '../../../src/core/objects/semaphore.js';
import type { OpContext } from '../../../src/core/objects/types.js';
import { Registry } from '../../../src/core/memory-store.js';
import { type Holding, type SessionHandle, Waiter, type WaitOptions, type WaitQueue } from '../../../src/core/waiting.js';
import { codeOf } from '../../helpers/assert.js';

// ---------------------------------------------------------------------------------------------
// Fakes: a session that records what it holds, waits for and is sent, and a request context that
// behaves as the server's (deferred wake-ups run at commit; undo steps only inside atomic batches).

let nextSessionId = 1;
let nextRequestId = 1;

class FakeSession implements SessionHandle {
  readonly sessionId = nextSessionId++;
  isOpen = true;
  readonly holdings = new Set<Holding>();
  readonly waiters = new Map<unknown, Waiter<unknown>>();
  readonly events: Array<{ event: string; data: any }> = [];

  hold(holding: Holding): void {
    this.holdings.add(holding);
  }

  unhold(holding: Holding): void {
    this.holdings.delete(holding);
  }

  sendEvent(event: string, data?: unknown): void {
    this.events.push({ event, data });
  }

  addWaiter(waiter: Waiter<unknown>): void {
    this.waiters.set(waiter.requestId, waiter);
  }

  removeWaiter(waiter: Waiter<unknown>): void {
    if (this.waiters.get(waiter.requestId) === waiter) this.waiters.delete(waiter.requestId);
  }

  /** As the server's Session.end: drop the waits first, then give back every holding. */
  close(reason: 'session-closed' | 'session-timeout' = 'session-closed'): void {
    this.isOpen = false;
    for (const waiter of [...this.waiters.values()]) waiter.drop();
    for (const holding of [...this.holdings]) holding.release(reason);
    this.holdings.clear();
  }

  /** As the server's `cancel` op: cancels the wait of request `requestId`. */
  cancel(requestId: unknown): boolean {
    const waiter = this.waiters.get(requestId);
    if (waiter === undefined) return false;
    waiter.cancel();
    return true;
  }
}

class FakeContext implements OpContext {
  readonly requestId = nextRequestId++;
  private undoSteps: Array<() => void> = [];
  private deferred: Array<() => void> = [];

  constructor(
    readonly session: FakeSession,
    readonly atomic = false,
  ) {}

  get sessionId(): number {
    return this.session.sessionId;
  }

  undo(step: () => void): void {
    if (this.atomic) this.undoSteps.push(step);
  }

  defer(step: () => void): void {
    this.deferred.push(step);
  }

  wait<T>(queue: WaitQueue<T>, options: WaitOptions): Promise<T> {
    if (this.atomic) throw new OperationError('WOULD_BLOCK', 'would block in an atomic batch');
    return new Waiter(queue, this.session, this.requestId, options).promise;
  }

  commit(): void {
    for (const step of this.deferred.splice(0)) step();
  }

  rollback(): void {
    this.deferred = [];
    for (const step of this.undoSteps.splice(0).reverse()) step();
  }
}

/** One server's worth of objects, with the request plumbing of session.ts in miniature. */
class World {
  readonly registry = new Registry();

  /** Runs one request for `session` and commits it, as Session.run does; returns what the op returned. */
  call(session: FakeSession, type: string, name: string, op: string, args: unknown[] = [], init?: unknown): unknown {
    const context = new FakeContext(session);
    const result = dispatchObjectOp(this.registry, request(type, name, op, args, init), context);
    context.commit();
    return result;
  }

  /** Like call, also returning the request id (to cancel its wait). */
  callWithId(session: FakeSession, type: string, name: string, op: string, args: unknown[] = [], init?: unknown) {
    const context = new FakeContext(session);
    const result = dispatchObjectOp(this.registry, request(type, name, op, args, init), context);
    context.commit();
    return { result, requestId: context.requestId };
  }

  /** Runs `ops` as one atomic batch: all committed, or on the first throw all rolled back. */
  atomic(session: FakeSession, ops: Array<[type: string, name: string, op: string, args?: unknown[], init?: unknown]>): unknown[] {
    const context = new FakeContext(session, true);
    const results: unknown[] = [];
    try {
      for (const [type, name, op, args, init] of ops) {
        results.push(dispatchObjectOp(this.registry, request(type, name, op, args ?? [], init), context));
      }
    } catch (err) {
      context.rollback();
      throw err;
    }
    context.commit();
    return results;
  }

  state<S>(type: string, name: string): S {
    return this.registry.resolve(type, name).state as S;
  }
}

function request(type: string, name: string, op: string, args: unknown[], init?: unknown): Request {
  return init === undefined ? { id: nextRequestId++, type, name, op, args } : { id: nextRequestId++, type, name, op, args, init };
}


interface Tracked<T = any> {
  readonly state: 'pending' | 'fulfilled' | 'rejected';
  readonly value: T;
  readonly error: any;
}

/** Watches a (possibly synchronous) result settle, so a test can ask "still waiting?". */
function track<T = any>(result: unknown): Tracked<T> {
  const tracked = { state: 'pending', value: undefined, error: undefined } as { state: Tracked['state']; value: any; error: any };
  Promise.resolve(result).then(
    (value) => {
      tracked.state = 'fulfilled';
      tracked.value = value;
    },
    (error) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

/** Lets every pending microtask run. */
const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

const sessions = (n: number) => Array.from({ length: n }, () => new FakeSession());

// ---------------------------------------------------------------------------------------------

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

describe('queue', () => {
  it('delivers items first in, first out', () => {
    const world = new World();
    const [a] = sessions(1);
    for (const item of ['a', { b: 1 }, [3], null]) world.call(a!, 'queue', 'Q', 'put', [item]);
    expect(world.call(a!, 'queue', 'Q', 'size')).toBe(4);
    expect([1, 2, 3, 4].map(() => world.call(a!, 'queue', 'Q', 'get'))).toEqual(['a', { b: 1 }, [3], null]);
    expect(world.call(a!, 'queue', 'Q', 'empty')).toBe(true);
  });

  it('blocks puts while full (maxsize), refuses putNowait with QUEUE_FULL, and admits blocked puts in FIFO order', async () => {
    const world = new World();
    const [a, p1, p2] = sessions(3);
    world.call(a!, 'queue', 'Q', 'put', [1], { maxsize: 2 });
    world.call(a!, 'queue', 'Q', 'put', [2]);
    expect(world.call(a!, 'queue', 'Q', 'full')).toBe(true);
    const put3 = track(world.call(p1!, 'queue', 'Q', 'put', [3]));
    const put4 = track(world.call(p2!, 'queue', 'Q', 'put', [4]));
    expect(codeOf(() => world.call(a!, 'queue', 'Q', 'putNowait', [99]))).toBe('QUEUE_FULL');
    await flush();
    expect([put3.state, put4.state]).toEqual(['pending', 'pending']);
    expect(world.call(a!, 'queue', 'Q', 'state')).toEqual({ size: 2, maxsize: 2, unfinished: 2, getters: 0, putters: 2 });
    expect(world.call(a!, 'queue', 'Q', 'get')).toBe(1);
    await flush();
    expect([put3.state, put4.state]).toEqual(['fulfilled', 'pending']);
    expect(world.call(a!, 'queue', 'Q', 'get')).toBe(2);
    expect(world.call(a!, 'queue', 'Q', 'get')).toBe(3);
    expect(world.call(a!, 'queue', 'Q', 'get')).toBe(4);
    await flush();
    expect(put4.state).toBe('fulfilled');
  });

  it('hands each item to exactly one blocked getter, in the order the getters came', async () => {
    const world = new World();
    const ss = sessions(4);
    const getters = ss.slice(0, 3).map((s) => track(world.call(s, 'queue', 'Q', 'get')));
    expect(world.call(ss[3]!, 'queue', 'Q', 'state')).toMatchObject({ getters: 3 });
    world.call(ss[3]!, 'queue', 'Q', 'put', ['x']);
    world.call(ss[3]!, 'queue', 'Q', 'put', ['y']);
    await flush();
    expect(getters.map((g) => g.value)).toEqual(['x', 'y', undefined]);
    expect(getters[2]!.state).toBe('pending');
    world.call(ss[3]!, 'queue', 'Q', 'put', ['z']);
    await flush();
    expect(getters.map((g) => g.value)).toEqual(['x', 'y', 'z']);
    expect(world.call(ss[3]!, 'queue', 'Q', 'size')).toBe(0);
  });

  it('hands each item of an atomic batch of puts to a different waiting getter', async () => {
    const world = new World();
    const ss = sessions(4);
    const getters = ss.slice(0, 3).map((s) => track(world.call(s, 'queue', 'Q', 'get')));
    world.atomic(ss[3]!, [
      ['queue', 'Q', 'put', ['x']],
      ['queue', 'Q', 'put', ['y']],
      ['queue', 'Q', 'put', ['z']],
      ['queue', 'Q', 'put', ['left']],
    ]);
    await flush();
    expect(getters.map((g) => g.value)).toEqual(['x', 'y', 'z']);
    expect(world.call(ss[3]!, 'queue', 'Q', 'state')).toMatchObject({ size: 1, getters: 0, unfinished: 4 });
    expect(world.call(ss[3]!, 'queue', 'Q', 'get')).toBe('left');
  });

  it('fails getNowait on an empty queue and a timed-out get with QUEUE_EMPTY', async () => {
    const world = new World();
    const [a] = sessions(1);
    expect(codeOf(() => world.call(a!, 'queue', 'Q', 'getNowait'))).toBe('QUEUE_EMPTY');
    expect(codeOf(() => world.call(a!, 'queue', 'Q', 'get', [0]))).toBe('QUEUE_EMPTY');
    await expect(world.call(a!, 'queue', 'Q', 'get', [0.02]) as Promise<unknown>).rejects.toMatchObject({ code: 'QUEUE_EMPTY' });
    expect(world.call(a!, 'queue', 'Q', 'state')).toMatchObject({ getters: 0 });
  });

  it('fails a timed-out put with QUEUE_FULL without adding its item', async () => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'queue', 'Q', 'put', ['kept'], { maxsize: 1 });
    await expect(world.call(a!, 'queue', 'Q', 'put', ['dropped', 0.02]) as Promise<unknown>).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    expect(world.call(a!, 'queue', 'Q', 'state')).toEqual({ size: 1, maxsize: 1, unfinished: 1, getters: 0, putters: 0 });
    expect(world.call(a!, 'queue', 'Q', 'get')).toBe('kept');
    expect(world.call(a!, 'queue', 'Q', 'size')).toBe(0);
  });

  it('neither swallows an item for a closed getter nor admits the item of a closed putter', async () => {
    const world = new World();
    const [a, goneGetter, goneputter, b] = sessions(4);
    const lost = track(world.call(goneGetter!, 'queue', 'G', 'get'));
    goneGetter!.close();
    world.call(a!, 'queue', 'G', 'put', ['item']);
    await flush();
    expect(lost.error?.code).toBe('SHUTTING_DOWN');
    expect(world.call(b!, 'queue', 'G', 'get')).toBe('item');

    world.call(a!, 'queue', 'P', 'put', [1], { maxsize: 1 });
    track(world.call(goneputter!, 'queue', 'P', 'put', [2]));
    goneputter!.close();
    expect(world.call(b!, 'queue', 'P', 'get')).toBe(1);
    await flush();
    expect(world.call(b!, 'queue', 'P', 'state')).toMatchObject({ size: 0, unfinished: 1, putters: 0 });
  });

  it('resolves join only once every item put has been marked done with taskDone', async () => {
    const world = new World();
    const [a, joiner] = sessions(2);
    expect(world.call(joiner!, 'queue', 'Q', 'join')).toBe(true); // nothing unfinished
    for (const item of [1, 2, 3]) world.call(a!, 'queue', 'Q', 'put', [item]);
    const join = track(world.call(joiner!, 'queue', 'Q', 'join'));
    expect(world.call(joiner!, 'queue', 'Q', 'join', [0])).toBe(false);
    for (let i = 0; i < 3; i++) world.call(a!, 'queue', 'Q', 'get');
    world.call(a!, 'queue', 'Q', 'taskDone');
    world.call(a!, 'queue', 'Q', 'taskDone');
    await flush();
    expect(join.state).toBe('pending');
    world.call(a!, 'queue', 'Q', 'taskDone');
    await flush();
    expect(join.state).toBe('fulfilled');
    expect(join.value).toBe(true);
  });

  it('counts an item admitted from a blocked put as unfinished', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    world.call(a!, 'queue', 'Q', 'put', [1], { maxsize: 1 });
    const blocked = world.call(b!, 'queue', 'Q', 'put', [2]) as Promise<unknown>;
    expect(world.call(a!, 'queue', 'Q', 'state')).toMatchObject({ unfinished: 1 });
    world.call(a!, 'queue', 'Q', 'get');
    await blocked;
    expect(world.call(a!, 'queue', 'Q', 'state')).toMatchObject({ unfinished: 2, size: 1 });
  });

  it('refuses more taskDone calls than items put with OUT_OF_RANGE', () => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'queue', 'Q', 'put', ['x']);
    world.call(a!, 'queue', 'Q', 'taskDone');
    expect(codeOf(() => world.call(a!, 'queue', 'Q', 'taskDone'))).toBe('OUT_OF_RANGE');
    expect(world.call(a!, 'queue', 'Q', 'state')).toMatchObject({ unfinished: 0 });
  });

  it('resolves a timed-out join with false', async () => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'queue', 'Q', 'put', ['x']);
    await expect(world.call(a!, 'queue', 'Q', 'join', [0.02])).resolves.toBe(false);
  });

  it('refuses a bad maxsize with INVALID_ARGUMENT', () => {
    const world = new World();
    const [a] = sessions(1);
    for (const maxsize of [-1, 1.5, 'x']) {
      expect(codeOf(() => world.call(a!, 'queue', 'Q', 'size', [], { maxsize }))).toBe('INVALID_ARGUMENT');
    }
  });

  it('undoes a put and a get rolled back in an atomic batch, and wakes no getter', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    world.call(a!, 'queue', 'Q', 'put', ['first']);
    expect(codeOf(() => world.atomic(a!, [['queue', 'Q', 'get'], ['queue', 'Q', 'put', ['second']], ['list', 'l', 'pop']]))).toBe('OUT_OF_RANGE');
    expect(world.state<QueueState>('queue', 'Q').items.toArray()).toEqual(['first']);
    expect(world.call(a!, 'queue', 'Q', 'state')).toMatchObject({ unfinished: 1, size: 1 });
    world.call(a!, 'queue', 'Q', 'get');
    const getter = track(world.call(b!, 'queue', 'Q', 'get'));
    expect(codeOf(() => world.atomic(a!, [['queue', 'Q', 'put', ['ghost']], ['list', 'l', 'pop']]))).toBe('OUT_OF_RANGE');
    await flush();
    expect(getter.state).toBe('pending');
    expect(world.call(a!, 'queue', 'Q', 'size')).toBe(0);
  });
});

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
