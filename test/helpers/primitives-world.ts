/**
 * Drives the coordination primitives as state machines: a store (MemoryStore) and
 * dispatchObjectOp with fake sessions, each request in a transaction (Tx) of its own, as
 * session.ts runs them. No sockets, no server: grants, waits, timeouts, cancels and session ends
 * are triggered by hand and their order checked exactly.
 */
import { OperationError } from '../../src/errors.js';
import type { Request } from '../../src/protocol/message.js';
import { dispatchObjectOp } from '../../src/core/dispatch.js';
import { MemoryStore } from '../../src/core/memory-store.js';
import type { Holding, SessionHandle, Waiter } from '../../src/core/waiting.js';

export { OperationError };

let nextSessionId = 1;
let nextRequestId = 1;

/** A session that records what it holds, waits for and is sent. */
export class FakeSession implements SessionHandle {
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

/** One server's worth of objects, with the request plumbing of session.ts in miniature. */
export class World {
  readonly registry = new MemoryStore();

  /** Runs one request for `session` and commits it, as Session.run does; returns what the op returned. */
  call(session: FakeSession, type: string, name: string, op: string, args: unknown[] = [], init?: unknown): unknown {
    return this.callWithId(session, type, name, op, args, init).result;
  }

  /** Like call, also returning the request id (to cancel its wait). */
  callWithId(session: FakeSession, type: string, name: string, op: string, args: unknown[] = [], init?: unknown) {
    const tx = this.registry.begin(session, nextRequestId++);
    const result = dispatchObjectOp(this.registry, request(type, name, op, args, init), tx);
    tx.commit();
    return { result, requestId: tx.requestId };
  }

  /** Runs `ops` as one atomic batch: all committed, or on the first throw all rolled back. */
  atomic(session: FakeSession, ops: Array<[type: string, name: string, op: string, args?: unknown[], init?: unknown]>): unknown[] {
    const tx = this.registry.begin(session, nextRequestId++, true);
    const results: unknown[] = [];
    try {
      for (const [type, name, op, args, init] of ops) {
        results.push(dispatchObjectOp(this.registry, request(type, name, op, args ?? [], init), tx));
      }
    } catch (err) {
      tx.rollback();
      throw err;
    }
    tx.commit();
    return results;
  }

  state<S>(type: string, name: string): S {
    return this.registry.resolve(type, name).state as S;
  }
}

function request(type: string, name: string, op: string, args: unknown[], init?: unknown): Request {
  return init === undefined ? { id: nextRequestId++, type, name, op, args } : { id: nextRequestId++, type, name, op, args, init };
}

export interface Tracked<T = any> {
  readonly state: 'pending' | 'fulfilled' | 'rejected';
  readonly value: T;
  readonly error: any;
}

/** Watches a (possibly synchronous) result settle, so a test can ask "still waiting?". */
export function track<T = any>(result: unknown): Tracked<T> {
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
export const flush = () => new Promise<void>((resolve) => setImmediate(resolve));
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export const sessions = (n: number) => Array.from({ length: n }, () => new FakeSession());
