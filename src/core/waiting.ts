/**
 * Blocking operations wait on the server, never by client polling. A blocked request becomes a
 * {@link Waiter} in an object's FIFO {@link WaitQueue} and in its session's table, so that it can
 * be granted (by the object), time out (its own timer), be cancelled (the client aborted) or be
 * dropped (the session closed), each exactly once.
 */
import { OperationError } from '../errors.js';
import { type LongTimeout, setLongTimeout } from '../util/timer.js';

/** What a session offers to objects that track what it holds and waits for. */
export interface SessionHandle {
  readonly sessionId: number;
  /** False once the connection is gone; objects never grant to a closed session. */
  readonly isOpen: boolean;
  /** Registers something the session holds; `release` runs if the session closes first. */
  hold(holding: Holding): void;
  /** Forgets a holding that was released normally. */
  unhold(holding: Holding): void;
  /** Sends a server event to this session's client (e.g. `lock-lost`). */
  sendEvent(event: string, data?: unknown): void;
  /** @internal Used by Waiter. */
  addWaiter(waiter: Waiter<unknown>): void;
  /** @internal Used by Waiter. */
  removeWaiter(waiter: Waiter<unknown>): void;
}

/** Something a session holds (a lock grant, a semaphore permit, a barrier place). */
export interface Holding {
  /** Gives it back; `reason` says why for events. Called at most once by the session. */
  release(reason: 'session-closed' | 'session-timeout'): void;
}

/** Insertion-ordered set of waiters: FIFO order, O(1) removal from the middle. */
export class WaitQueue<T> {
  private readonly waiters = new Set<Waiter<T>>();

  get size(): number {
    return this.waiters.size;
  }

  /** The longest-waiting waiter, without removing it. */
  peek(): Waiter<T> | undefined {
    for (const waiter of this.waiters) return waiter;
    return undefined;
  }

  /** Removes and returns the longest-waiting waiter. */
  shift(): Waiter<T> | undefined {
    const first = this.peek();
    if (first !== undefined) this.waiters.delete(first);
    return first;
  }

  /** Removes and returns every waiter, oldest first. */
  drain(): Waiter<T>[] {
    const all = [...this.waiters];
    this.waiters.clear();
    return all;
  }

  /** @internal */
  add(waiter: Waiter<T>): void {
    this.waiters.add(waiter);
  }

  /** @internal */
  delete(waiter: Waiter<T>): boolean {
    return this.waiters.delete(waiter);
  }

  [Symbol.iterator](): IterableIterator<Waiter<T>> {
    return this.waiters.values();
  }
}

export interface WaitOptions {
  /** Seconds before giving up; null or undefined waits as long as the session lives. */
  timeout: number | null | undefined;
  /** What a timed-out wait resolves with; throw from it to reject instead. */
  onTimeout: () => unknown;
  /** Runs when the waiter leaves the queue without being granted (timeout, cancel, close). */
  onLeave?: () => void;
  /** Extra data the object keeps with the waiter (e.g. the item a blocked put carries). */
  data?: unknown;
}

/** One blocked request. Settled exactly once: granted, timed out, cancelled or dropped. */
export class Waiter<T> {
  readonly session: SessionHandle;
  readonly requestId: unknown;
  readonly data: unknown;
  private readonly queue: WaitQueue<T>;
  private readonly options: WaitOptions;
  private resolveFn!: (value: T) => void;
  private rejectFn!: (err: unknown) => void;
  private timer: LongTimeout | undefined;
  private done = false;
  readonly promise: Promise<T>;

  constructor(queue: WaitQueue<T>, session: SessionHandle, requestId: unknown, options: WaitOptions) {
    this.queue = queue;
    this.session = session;
    this.requestId = requestId;
    this.options = options;
    this.data = options.data;
    this.promise = new Promise<T>((resolve, reject) => {
      this.resolveFn = resolve;
      this.rejectFn = reject;
    });
    queue.add(this);
    session.addWaiter(this as Waiter<unknown>);
    const { timeout } = options;
    if (timeout !== null && timeout !== undefined) {
      // Not setTimeout: it turns a delay over ~24.8 days into 1 ms, timing a long wait out at once.
      this.timer = setLongTimeout(() => this.leave(() => this.resolveFn(options.onTimeout() as T)), timeout * 1000);
    }
  }

  get settled(): boolean {
    return this.done;
  }

  /** The object grants the wait. The caller has already removed it from the queue (shift/drain). */
  grant(value: T): void {
    if (!this.finish()) return;
    this.resolveFn(value);
  }

  /** The object fails the wait (e.g. the barrier broke). The caller has removed it from the queue. */
  fail(err: unknown): void {
    if (!this.finish()) return;
    this.rejectFn(err);
  }

  /** The client asked to stop waiting (AbortSignal). */
  cancel(): void {
    this.leave(() => this.rejectFn(new OperationError('ABORTED', 'the wait was cancelled by the client')));
  }

  /** The session ended: the connection closed, or the server is shutting down. */
  drop(): void {
    this.leave(() => this.rejectFn(new OperationError('SHUTTING_DOWN', 'the session ended (connection closed or server shutting down)')));
  }

  private leave(settle: () => void): void {
    if (this.done) return;
    this.queue.delete(this);
    this.finish();
    try {
      settle();
    } catch (err) {
      this.rejectFn(err);
    }
    this.options.onLeave?.();
  }

  private finish(): boolean {
    if (this.done) return false;
    this.done = true;
    this.timer?.clear();
    this.session.removeWaiter(this as Waiter<unknown>);
    return true;
  }
}

/** Reads an optional timeout argument in seconds: null/undefined = no limit; must be ≥ 0. */
export function timeoutArg(value: unknown, signature: string): number | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new OperationError('INVALID_ARGUMENT', `${signature}: timeout must be a number of seconds ≥ 0 or null`);
  }
  return value;
}
