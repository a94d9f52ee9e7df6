/**
 * Condition variables. `acquire()` gives a {@link ConditionHandle}: the lock grant, plus wait and
 * notify, which need it held, as in Python.
 */
import type { CallOptions, Client } from '../client.js';
import type { WaitCallOptions } from './base.js';
import { LockHandle, LockProxy } from './lock.js';

interface Grant {
  token: string;
  fence: number;
  depth: number;
}

/**
 * A condition's lock grant, with wait and notify.
 * @hideconstructor
 */
export class ConditionHandle extends LockHandle {
  declare protected readonly proxy: ConditionProxy;

  /**
   * Releases the lock, waits for a notify (or the timeout, in seconds), then holds the lock again
   * before resolving: true if notified, false on timeout. The fence changes: the lock was re-granted.
   */
  async wait(options?: WaitCallOptions): Promise<boolean> {
    const { notified, fence } = await this.proxy.waitWith(this.token, options);
    this.fence = fence;
    return notified;
  }

  /**
   * Waits until `predicate()` is true, checking it now and after every notify, as Python's
   * `wait_for`. Resolves with the last value of the predicate: falsy only if the timeout passed.
   */
  async waitFor<T>(predicate: () => T | Promise<T>, options?: WaitCallOptions): Promise<T> {
    const deadline = options?.timeout === undefined ? undefined : Date.now() + options.timeout * 1000;
    let result = await predicate();
    while (!result) {
      const left = deadline === undefined ? undefined : (deadline - Date.now()) / 1000;
      if (left !== undefined && left <= 0) return result;
      await this.wait({ ...options, ...(left !== undefined && { timeout: left }) });
      result = await predicate();
    }
    return result;
  }

  /** Wakes up to `n` waiters (default 1); resolves with how many were woken. */
  notify(n = 1): Promise<number> {
    return this.proxy.notifyWith(this.token, n);
  }

  /** Wakes every waiter; resolves with how many were woken. */
  notifyAll(): Promise<number> {
    return this.proxy.notifyAllWith(this.token);
  }
}

export class ConditionProxy extends LockProxy {
  constructor(client: Client, name: string, lockName?: string, options?: CallOptions) {
    super(client, 'condition', name, lockName === undefined ? undefined : { lock: lockName }, options);
  }

  override acquire(options?: WaitCallOptions): Promise<ConditionHandle> {
    return super.acquire(options) as Promise<ConditionHandle>;
  }

  override withLock<T>(fn: (held: ConditionHandle) => Promise<T> | T, options?: WaitCallOptions): Promise<T> {
    return super.withLock((held) => fn(held as ConditionHandle), options);
  }

  protected override makeHandle(grant: Grant): LockHandle {
    return new ConditionHandle(this, grant);
  }

  /** @internal */
  waitWith(token: string, options?: WaitCallOptions): Promise<{ notified: boolean; fence: number }> {
    return this.callBlocking('wait', [token, options?.timeout ?? null], options);
  }

  /** @internal */
  notifyWith(token: string, n: number): Promise<number> {
    return this.call('notify', [token, n]);
  }

  /** @internal */
  notifyAllWith(token: string): Promise<number> {
    return this.call('notifyAll', [token]);
  }
}
