/**
 * The coordination primitives over a real server and real client connections (TCP): server-side
 * timeouts, AbortSignal cancels, conditions across clients, scoped release, atomic batches, locks
 * lost when the server ends a session, and what blocked callers hear when the server closes.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../src/client/client.js';
import type { LockHandle } from '../../src/client/proxies/lock.js';
import { RemoteError, SyncmgrError } from '../../src/errors.js';
import { AUTHKEY, connectTo, startServer, type TestServer } from '../helpers/server.js';

/** What a promise rejects with; fails the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<SyncmgrError> {
  let value: unknown;
  try {
    value = await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SyncmgrError);
    return err as SyncmgrError;
  }
  throw new Error(`expected a rejection, got ${JSON.stringify(value)}`);
}

const codeOf = async (promise: Promise<unknown>): Promise<string> => (await rejectionOf(promise)).code;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Resolves with how the promise settles within `ms`: its value, its error code, or 'pending'. */
async function outcomeWithin(promise: Promise<unknown>, ms: number): Promise<unknown> {
  const pending = Symbol('pending');
  const result = await Promise.race([
    promise.then(
      (value) => ({ value }),
      (err: SyncmgrError) => ({ code: err.code }),
    ),
    sleep(ms).then(() => pending),
  ]);
  return result === pending ? 'pending' : result;
}

let names = 0;
/** A fresh object name per use, so tests share a server but not their objects. */
const fresh = (prefix: string): string => `${prefix}-${++names}`;

let server: TestServer;
let a: Client;
let b: Client;
let c: Client;

beforeAll(async () => {
  server = await startServer();
  [a, b, c] = await Promise.all([connectTo(server.tcp), connectTo(server.tcp), connectTo(server.tcp)]);
});

describe('timeouts', () => {
  it('rejects an acquire that is not granted in time with TIMEOUT, after about that long, and dequeues it', async () => {
    const name = fresh('lock');
    const held = await a.lock(name).acquire();
    const started = Date.now();
    expect(await codeOf(b.lock(name).acquire({ timeout: 0.2 }))).toBe('TIMEOUT');
    const elapsed = Date.now() - started;
    expect(elapsed).toBeGreaterThanOrEqual(190);
    expect(elapsed).toBeLessThan(2000);
    expect(await a.lock(name).state()).toEqual({ locked: true, fence: 1, waiting: 0 });
    expect(await held.owned()).toBe(true);
  });

  it('answers acquire with timeout 0 on a held lock at once with TIMEOUT, without queueing', async () => {
    const name = fresh('lock');
    await a.lock(name).acquire();
    const started = Date.now();
    expect(await codeOf(b.lock(name).acquire({ timeout: 0 }))).toBe('TIMEOUT');
    expect(Date.now() - started).toBeLessThan(500);
    expect((await b.lock(name).state()).waiting).toBe(0);
    // And timeout 0 on a free lock simply takes it.
    const other = fresh('lock');
    const grant = await b.lock(other).acquire({ timeout: 0 });
    expect(grant.fence).toBe(1);
  });

  it('rejects a semaphore acquire that is not granted in time with TIMEOUT', async () => {
    const name = fresh('sem');
    await a.semaphore(name, 1).acquire();
    expect(await codeOf(b.semaphore(name).acquire({ timeout: 0.1 }))).toBe('TIMEOUT');
    expect(await b.semaphore(name).state()).toEqual({ value: 0, initial: 1, held: 1, waiting: 0 });
  });

  it('rejects a queue get that times out with QUEUE_EMPTY, and a full put with QUEUE_FULL', async () => {
    const name = fresh('queue');
    const started = Date.now();
    expect(await codeOf(a.queue(name, { maxsize: 1 }).get({ timeout: 0.15 }))).toBe('QUEUE_EMPTY');
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(await codeOf(a.queue(name).get({ timeout: 0 }))).toBe('QUEUE_EMPTY');
    await a.queue(name).put('x');
    expect(await codeOf(b.queue(name).put('y', { timeout: 0.1 }))).toBe('QUEUE_FULL');
    expect(await a.queue(name).state()).toEqual({ size: 1, maxsize: 1, unfinished: 1, getters: 0, putters: 0 });
  });

  it('resolves an event wait that times out with false, and with true once set', async () => {
    const name = fresh('event');
    const started = Date.now();
    expect(await a.event(name).wait({ timeout: 0.15 })).toBe(false);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    expect(await a.event(name).wait({ timeout: 0 })).toBe(false);
    const waiting = b.event(name).wait({ timeout: 5 });
    await b.ping(); // served in order: the wait is parked on the server now
    await a.event(name).set();
    expect(await waiting).toBe(true);
  });

  it('breaks a barrier for everyone when one party times out (BROKEN_BARRIER)', async () => {
    const name = fresh('barrier');
    const patient = codeOf(a.barrier(name, 3).wait());
    await a.ping();
    expect(await codeOf(b.barrier(name, 3).wait({ timeout: 0.1 }))).toBe('BROKEN_BARRIER');
    expect(await patient).toBe('BROKEN_BARRIER');
    expect(await c.barrier(name).state()).toEqual({ parties: 3, waiting: 0, broken: true });
  });
});

describe('AbortSignal', () => {
  it('rejects a blocked acquire with ABORTED when its signal fires, and leaves the lock free for another client', async () => {
    const name = fresh('lock');
    const held = await a.lock(name).acquire();
    const controller = new AbortController();
    const blocked = b.lock(name).acquire({ signal: controller.signal });
    await b.ping();
    expect((await a.lock(name).state()).waiting).toBe(1);
    controller.abort();
    expect(await codeOf(blocked)).toBe('ABORTED');
    expect((await a.lock(name).state()).waiting).toBe(0);
    await held.release();
    const next = await c.lock(name).acquire({ timeout: 1 });
    expect(await next.owned()).toBe(true);
    expect(b.inFlight).toBe(0);
    await next.release();
    expect(await c.lock(name).locked()).toBe(false);
  });

  it('hands back a grant that crosses the abort, so the lock is never left held', async () => {
    const name = fresh('lock');
    for (let round = 0; round < 10; round++) {
      const held = await a.lock(name).acquire();
      const controller = new AbortController();
      const blocked = b.lock(name).acquire({ signal: controller.signal });
      await b.ping();
      // The release (on a's connection) and the cancel (on b's) race on the server.
      const released = held.release();
      controller.abort();
      expect(await codeOf(blocked)).toBe('ABORTED');
      await released;
      const next = await c.lock(name).acquire({ timeout: 2 });
      await next.release();
    }
    expect(await c.lock(name).state()).toMatchObject({ locked: false, waiting: 0 });
  });

  it('rejects at once with ABORTED when the signal has already fired, queueing nothing', async () => {
    const name = fresh('lock');
    await a.lock(name).acquire();
    expect(await codeOf(b.lock(name).acquire({ signal: AbortSignal.abort() }))).toBe('ABORTED');
    expect((await b.lock(name).state()).waiting).toBe(0);
  });

  it('cancels a blocked semaphore acquire and a blocked queue get without losing a permit or an item', async () => {
    const sem = fresh('sem');
    const permit = await a.semaphore(sem, 1).acquire();
    const semController = new AbortController();
    const blockedPermit = b.semaphore(sem).acquire({ signal: semController.signal });
    const queue = fresh('queue');
    const queueController = new AbortController();
    const blockedGet = b.queue(queue).get({ signal: queueController.signal });
    await b.ping();
    semController.abort();
    queueController.abort();
    expect(await codeOf(blockedPermit)).toBe('ABORTED');
    expect(await codeOf(blockedGet)).toBe('ABORTED');
    await permit.release();
    expect(await c.semaphore(sem).value()).toBe(1);
    await a.queue(queue).put('kept');
    expect(await c.queue(queue).get({ timeout: 1 })).toBe('kept');
  });

  it('leaves the condition lock held by the handle after an aborted wait, as after a timed-out one', async () => {
    const name = fresh('cond');
    const controller = new AbortController();
    const outcome = a.condition(name).withLock(async (held) => {
      const waiting = held.wait({ signal: controller.signal });
      setTimeout(() => controller.abort(), 50);
      const code = await codeOf(waiting);
      return { code, owned: await held.owned() };
    });
    // withLock releases the lock on the way out: that must succeed, and the abort be what we see.
    expect(await outcome).toEqual({ code: 'ABORTED', owned: true });
    expect(await b.condition(name).state()).toEqual({ locked: false, waiting: 0 });
  });
});

describe('condition', () => {
  it('wakes a waiter in one client with notify from another, which then holds the lock again with a newer fence', async () => {
    const name = fresh('cond');
    const waiterHandle = await a.condition(name).acquire();
    const firstFence = waiterHandle.fence;
    const woken = waiterHandle.wait();
    await a.ping();
    expect(await b.condition(name).state()).toEqual({ locked: false, waiting: 1 });
    const notifier = await b.condition(name).acquire({ timeout: 1 });
    expect(await notifier.notify()).toBe(1);
    expect(await outcomeWithin(woken, 100)).toBe('pending'); // it needs the lock back first
    await notifier.release();
    expect(await woken).toBe(true);
    expect(await waiterHandle.owned()).toBe(true);
    expect(waiterHandle.fence).toBeGreaterThan(notifier.fence);
    expect(notifier.fence).toBeGreaterThan(firstFence);
    await waiterHandle.release();
  });

  it('wakes every waiter across clients with notifyAll', async () => {
    const name = fresh('cond');
    const waits: Array<Promise<boolean>> = [];
    for (const client of [a, b]) {
      const held = await client.condition(name).acquire();
      waits.push(
        held.wait().then(async (notified) => {
          await held.release();
          return notified;
        }),
      );
      await client.ping(); // parked on the server: the lock is free for the next one
    }
    expect(await c.condition(name).state()).toEqual({ locked: false, waiting: 2 });
    const notifier = await c.condition(name).acquire();
    expect(await notifier.notifyAll()).toBe(2);
    await notifier.release();
    expect(await Promise.all(waits)).toEqual([true, true]);
  });

  it('over a shared named lock, excludes a client holding that lock, and frees it while waiting', async () => {
    const lockName = fresh('shared-lock');
    const condName = fresh('cond');
    const plain = await a.lock(lockName).acquire();
    expect(await codeOf(b.condition(condName, lockName).acquire({ timeout: 0.1 }))).toBe('TIMEOUT');
    await plain.release();
    const viaCondition = await b.condition(condName, lockName).acquire({ timeout: 1 });
    expect(await a.lock(lockName).locked()).toBe(true);
    expect(await codeOf(a.lock(lockName).acquire({ timeout: 0.1 }))).toBe('TIMEOUT');
    // Waiting on the condition releases the shared lock for its other users.
    const woken = viaCondition.wait({ timeout: 5 });
    const other = await a.lock(lockName).acquire({ timeout: 1 });
    expect(await outcomeWithin(woken, 50)).toBe('pending');
    await other.release();
    const notifier = await c.condition(condName, lockName).acquire({ timeout: 1 });
    await notifier.notify();
    await notifier.release();
    expect(await woken).toBe(true);
    expect(await viaCondition.owned()).toBe(true);
    expect(await a.lock(lockName).locked()).toBe(true);
    await viaCondition.release();
    expect(await a.lock(lockName).locked()).toBe(false);
  });

  it('waitFor re-checks its predicate after every notify and resolves with its first truthy value', async () => {
    const cond = fresh('cond');
    const counter = fresh('dict');
    let checks = 0;
    const held = await a.condition(cond).acquire();
    const done = held.waitFor(async () => {
      checks++;
      const n = (await a.dict<number>(counter).get('n', 0)) as number;
      return n >= 3 ? `n=${n}` : '';
    });
    for (let i = 1; i <= 3; i++) {
      // Wait until the waiter is parked again, so every notify is seen by a fresh check.
      while ((await b.condition(cond).state()).waiting !== 1) await sleep(5);
      const notifier = await b.condition(cond).acquire();
      await b.dict(counter).incr('n');
      await notifier.notifyAll();
      await notifier.release();
    }
    expect(await done).toBe('n=3');
    expect(checks).toBe(4);
    expect(await held.owned()).toBe(true);
    await held.release();
  });

  it('waitFor resolves with the falsy predicate value when its timeout passes, still holding the lock', async () => {
    const cond = fresh('cond');
    const held = await a.condition(cond).acquire();
    const started = Date.now();
    expect(await held.waitFor(() => 0, { timeout: 0.2 })).toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    expect(await held.owned()).toBe(true);
    await held.release();
  });

  it('refuses notify from a handle that no longer holds the lock with NOT_OWNER', async () => {
    const cond = fresh('cond');
    const held = await a.condition(cond).acquire();
    await held.release();
    expect(await codeOf(held.notify())).toBe('NOT_OWNER');
    expect(await codeOf(held.wait())).toBe('NOT_OWNER');
  });
});

describe('scoped release', () => {
  it('withLock returns what its function returns and releases the lock', async () => {
    const name = fresh('lock');
    const result = await a.lock(name).withLock(async (held) => {
      expect(await b.lock(name).locked()).toBe(true);
      return held.fence * 10;
    });
    expect(result).toBe(10);
    expect(await b.lock(name).locked()).toBe(false);
  });

  it('withLock releases the lock when its function throws, and rethrows that same error', async () => {
    const name = fresh('lock');
    const boom = new Error('boom');
    await expect(
      a.lock(name).withLock(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    const next = await b.lock(name).acquire({ timeout: 0 });
    await next.release();
  });

  it('await using releases a lock, every level of an rlock, and a permit at the end of the block', async () => {
    const lock = fresh('lock');
    const rlock = fresh('rlock');
    const sem = fresh('sem');
    {
      await using held = await a.lock(lock).acquire();
      await using reentrant = await a.rlock(rlock).acquire();
      await reentrant.acquire();
      expect(reentrant.depth).toBe(2);
      await using permit = await a.semaphore(sem, 1).acquire();
      expect(held.fence).toBe(1);
      expect(permit.lost).toBe(false);
      expect(await b.lock(lock).locked()).toBe(true);
      expect(await b.rlock(rlock).locked()).toBe(true);
      expect(await b.semaphore(sem).value()).toBe(0);
    }
    expect(await b.lock(lock).locked()).toBe(false);
    expect(await b.rlock(rlock).locked()).toBe(false);
    expect(await b.semaphore(sem).value()).toBe(1);
  });

  it('await using releases the lock when the block throws', async () => {
    const name = fresh('lock');
    const boom = new Error('boom');
    await expect(
      (async () => {
        await using _held = await a.lock(name).acquire();
        throw boom;
      })(),
    ).rejects.toBe(boom);
    expect(await b.lock(name).locked()).toBe(false);
  });

  it('withPermit gives the permit back however its function ends', async () => {
    const name = fresh('sem');
    await expect(a.semaphore(name, 2).withPermit(async () => b.semaphore(name).value())).resolves.toBe(1);
    await expect(a.semaphore(name).withPermit(() => Promise.reject(new Error('x')))).rejects.toThrow();
    expect(await b.semaphore(name).value()).toBe(2);
  });
});

describe('atomic batches', () => {
  it('applies every operation across objects and returns each result in order', async () => {
    const dict = fresh('dict');
    const list = fresh('list');
    const event = fresh('event');
    const queue = fresh('queue');
    const lock = fresh('lock');
    const sem = fresh('sem');
    const waiting = b.event(event).wait({ timeout: 5 });
    await b.ping();
    const results = await a.atomic([
      { type: 'dict', name: dict, op: 'set', args: ['k', 1] },
      { type: 'dict', name: dict, op: 'incr', args: ['k', 4] },
      { type: 'list', name: list, op: 'append', args: ['x'] },
      { type: 'event', name: event, op: 'set' },
      { type: 'queue', name: queue, op: 'put', args: [{ job: 1 }] },
      { type: 'lock', name: lock, op: 'acquire' },
      { type: 'semaphore', name: sem, op: 'acquire', init: { value: 3 } },
    ]);
    expect(results).toEqual([
      null,
      5,
      1,
      null,
      null,
      { token: expect.any(String), fence: 1, depth: 1 },
      { token: expect.any(String) },
    ]);
    expect(await waiting).toBe(true);
    expect(await b.dict(dict).get('k')).toBe(5);
    expect(await b.list(list).slice()).toEqual(['x']);
    expect(await b.queue(queue).get({ timeout: 0 })).toEqual({ job: 1 });
    expect(await b.lock(lock).locked()).toBe(true);
    expect(await b.semaphore(sem).state()).toEqual({ value: 2, initial: 3, held: 1, waiting: 0 });
    // The grant is a's, by its token.
    const token = (results[5] as { token: string }).token;
    expect(await codeOf(b.call('lock', lock, 'release', ['forged']))).toBe('NOT_OWNER');
    expect(await a.call('lock', lock, 'release', [token])).toBe(0);
  });

  it('applies none of a batch whose middle operation fails, naming it in details.index', async () => {
    const accounts = fresh('dict');
    const ledger = fresh('list');
    const event = fresh('event');
    await a.dict(accounts).set('alice', 10);
    const waiting = b.event(event).wait({ timeout: 0.3 });
    await b.ping();
    const error = await rejectionOf(
      a.atomic([
        { type: 'dict', name: accounts, op: 'incr', args: ['alice', -5] },
        { type: 'event', name: event, op: 'set' },
        { type: 'list', name: ledger, op: 'pop' }, // empty: OUT_OF_RANGE
        { type: 'dict', name: accounts, op: 'incr', args: ['bob', 5] },
      ]),
    );
    expect(error).toBeInstanceOf(RemoteError);
    expect(error.code).toBe('OUT_OF_RANGE');
    expect((error as RemoteError).details).toMatchObject({ index: 2, type: 'list', name: ledger, op: 'pop' });
    expect(await a.dict(accounts).items()).toEqual([['alice', 10]]);
    expect(await waiting).toBe(false); // the rolled-back set woke nobody
    expect(await a.event(event).isSet()).toBe(false);
  });

  it('refuses an acquire that would block with WOULD_BLOCK and applies nothing', async () => {
    const dict = fresh('dict');
    const lock = fresh('lock');
    const held = await a.lock(lock).acquire();
    const error = await rejectionOf(
      b.atomic([
        { type: 'dict', name: dict, op: 'set', args: ['x', 1] },
        { type: 'lock', name: lock, op: 'acquire' },
      ]),
    );
    expect(error.code).toBe('WOULD_BLOCK');
    expect((error as RemoteError).details).toMatchObject({ index: 1 });
    expect(await b.dict(dict).has('x')).toBe(false);
    expect(await b.lock(lock).state()).toEqual({ locked: true, fence: 1, waiting: 0 });
    await held.release();
  });

  it('refuses blocking gets and waits with WOULD_BLOCK', async () => {
    const queue = fresh('queue');
    const event = fresh('event');
    expect(await codeOf(a.atomic([{ type: 'queue', name: queue, op: 'get' }]))).toBe('WOULD_BLOCK');
    expect(await codeOf(a.atomic([{ type: 'event', name: event, op: 'wait' }]))).toBe('WOULD_BLOCK');
    // A put and a get of the same item in one batch never block.
    expect(
      await a.atomic([
        { type: 'queue', name: queue, op: 'put', args: ['x'] },
        { type: 'queue', name: queue, op: 'get' },
      ]),
    ).toEqual([null, 'x']);
  });

  it('forgets objects created by a batch that failed, so their names stay free for any type', async () => {
    const name = fresh('created');
    expect(
      await codeOf(
        a.atomic([
          { type: 'dict', name, op: 'set', args: ['k', 1] },
          { type: 'list', name: fresh('list'), op: 'get', args: [0] },
        ]),
      ),
    ).toBe('OUT_OF_RANGE');
    expect(await a.list(name).len()).toBe(0);
  });

  it('fails the batch with WRONG_TYPE when one operation names an object of another type', async () => {
    const dict = fresh('dict');
    const lock = fresh('lock');
    await a.lock(lock).locked();
    const error = await rejectionOf(
      a.atomic([
        { type: 'dict', name: dict, op: 'set', args: ['k', 1] },
        { type: 'dict', name: lock, op: 'set', args: ['k', 1] },
      ]),
    );
    expect(error.code).toBe('WRONG_TYPE');
    expect((error as RemoteError).details).toMatchObject({ index: 1, cause: { type: 'lock' } });
    expect(await a.dict(dict).has('k')).toBe(false);
  });
});

describe('sessions ended by the server', () => {
  it('marks a held lock lost (lost, signal, lock-lost event) when the server times out a silent session', async () => {
    const own = await startServer({ sessionTimeoutMs: 500 });
    // No heartbeats: the session goes silent, though the connection stays up and readable.
    const silent = await connectTo(own.tcp, { heartbeats: false });
    const waiterClient = await connectTo(own.tcp);
    const name = fresh('lock');
    const held = await silent.lock(name).acquire();
    const atEvent = new Promise<{ data: any; lost: boolean; aborted: boolean; status: string }>((resolve) =>
      silent.once('lock-lost', (data) => resolve({ data, lost: held.lost, aborted: held.signal.aborted, status: silent.status })),
    );
    const started = Date.now();
    const next = await waiterClient.lock(name).acquire({ timeout: 3 });
    const waited = Date.now() - started;
    const seen = await atEvent;
    expect(seen.data).toEqual({ name, token: held.token, fence: held.fence, reason: 'session-timeout' });
    // The event itself marked the handle, while the connection was still open.
    expect(seen).toMatchObject({ lost: true, aborted: true, status: 'ready' });
    expect(held.lost).toBe(true);
    expect(held.signal.aborted).toBe(true);
    expect((held.signal.reason as SyncmgrError).code).toBe('ABORTED');
    expect(next.fence).toBeGreaterThan(held.fence);
    expect(waited).toBeLessThan(2000);
    // The server then closes the silent connection.
    await new Promise<void>((resolve) => (silent.status === 'closed' ? resolve() : silent.once('close', () => resolve())));
    expect(await codeOf(held.release())).toBe('CONNECTION_CLOSED');
  });

  it('keeps the locks of a client that heartbeats, however long it holds them', async () => {
    const own = await startServer({ sessionTimeoutMs: 500 });
    const alive = await connectTo(own.tcp);
    const name = fresh('lock');
    const held = await alive.lock(name).acquire();
    await sleep(1500);
    expect(held.lost).toBe(false);
    expect(await held.owned()).toBe(true);
    await held.release();
  });

  it('marks every handle lost when its own client closes', async () => {
    const own = await connect({ authkey: AUTHKEY, host: server.tcp.host, port: server.tcp.port });
    const name = fresh('lock');
    const held: LockHandle = await own.lock(name).acquire();
    const permit = await own.semaphore(fresh('sem'), 1).acquire();
    await own.close();
    expect(held.lost).toBe(true);
    expect(permit.lost).toBe(true);
    const next = await a.lock(name).acquire({ timeout: 1 });
    await next.release();
  });
});

describe('server close', () => {
  it('answers every blocked call with SHUTTING_DOWN, whatever it waits on and whoever holds what it waits for', async () => {
    const doomed = await startServer();
    // The holders connect first: their sessions are ended first, which must not hand their lock,
    // permit or item to a waiter that is about to hear SHUTTING_DOWN.
    const holder = await connectTo(doomed.tcp);
    const waiter = await connectTo(doomed.tcp);
    const held = await holder.lock('L').acquire();
    const permit = await holder.semaphore('S', 1).acquire();
    const cond = await waiter.condition('C').acquire();
    await waiter.queue('F', { maxsize: 1 }).put(1);
    await holder.queue('J').put(1);
    // Every blocking call goes out now, on one connection: the ping below is answered only after
    // the server has parked all of them.
    const blocked = {
      lock: waiter.lock('L').acquire(),
      semaphore: waiter.semaphore('S').acquire(),
      get: waiter.queue('Q').get(),
      put: waiter.queue('F', { maxsize: 1 }).put(2),
      event: waiter.event('E').wait(),
      condition: cond.wait(),
      barrier: waiter.barrier('B', 2).wait(),
      join: waiter.queue('J').join(),
    };
    const outcomes = Object.fromEntries(
      Object.entries(blocked).map(([what, promise]) => [what, promise.then(() => 'resolved', (err: SyncmgrError) => err.code)]),
    );
    await waiter.ping();
    expect(await doomed.server.close()).toBeUndefined();
    const codes: Record<string, unknown> = {};
    for (const [what, outcome] of Object.entries(outcomes)) codes[what] = await outcome;
    expect(codes).toEqual({
      lock: 'SHUTTING_DOWN',
      semaphore: 'SHUTTING_DOWN',
      get: 'SHUTTING_DOWN',
      put: 'SHUTTING_DOWN',
      event: 'SHUTTING_DOWN',
      condition: 'SHUTTING_DOWN',
      barrier: 'SHUTTING_DOWN',
      join: 'SHUTTING_DOWN',
    });
    expect(held.lost).toBe(true);
    expect(permit.lost).toBe(true);
  });

  it('refuses new requests of a client still connected while closing with SHUTTING_DOWN or CONNECTION_CLOSED', async () => {
    const doomed = await startServer();
    const client = await connectTo(doomed.tcp);
    const closing = doomed.server.close();
    const code = await codeOf(client.lock('L').acquire());
    expect(['SHUTTING_DOWN', 'CONNECTION_CLOSED']).toContain(code);
    await closing;
    expect(client.status).toBe('closed');
  });
});
