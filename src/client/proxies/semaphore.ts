/**
 * Semaphores. `acquire()` resolves with a {@link PermitHandle} that gives that permit back;
 * `release()` on the proxy adds a permit without one, for signalling as in Python.
 */
import { AbortError } from '../../errors.js';
import type { CallOptions, Client } from '../client.js';
import { LossSignal, ObjectProxy, runHolding, type WaitCallOptions } from './base.js';

/**
 * One permit taken by acquire.
 * @hideconstructor
 */
// Not `implements HeldHandle`: that interface is internal, stripped from the published types,
// where the clause would name a type that is not there. trackHeld() checks the shape anyway.
export class PermitHandle {
  private readonly loss = new LossSignal();
  private released = false;

  constructor(
    private readonly proxy: SemaphoreProxy,
    readonly token: string,
  ) {}

  /** True once the server took the permit back (connection closed, session timed out). */
  get lost(): boolean {
    return this.loss.lost;
  }

  /** Aborts when the permit is lost. */
  get signal(): AbortSignal {
    return this.loss.signal;
  }

  /** @internal */
  markLost(reason: string): void {
    if (!this.released && !this.lost) this.loss.lose(new AbortError(`permit of ${JSON.stringify(this.proxy.name)} lost: ${reason}`));
  }

  /** Gives the permit back; NOT_OWNER if it is no longer held. */
  async release(): Promise<void> {
    await this.proxy.releaseToken(this.token);
    this.released = true;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.released && !this.lost) await this.release();
  }
}

export interface SemaphoreState {
  value: number;
  initial: number;
  held: number;
  waiting: number;
}

export class SemaphoreProxy extends ObjectProxy {
  constructor(client: Client, type: 'semaphore' | 'boundedSemaphore', name: string, value: number | undefined, options?: CallOptions) {
    super(client, type, name, value === undefined ? undefined : { value }, options);
  }

  /** Takes a permit (FIFO). TimeoutError (code TIMEOUT) after `timeout` seconds; 0 does not wait. */
  async acquire(options?: WaitCallOptions): Promise<PermitHandle> {
    const { token } = await this.callBlocking<{ token: string }>('acquire', [options?.timeout ?? null], options);
    const handle = new PermitHandle(this, token);
    this.client.trackHeld(token, handle);
    if (options?.signal?.aborted) {
      await handle.release().catch(() => {});
      throw new AbortError(undefined, { cause: options.signal.reason });
    }
    return handle;
  }

  /** Runs `fn` holding a permit and gives it back however `fn` ends. */
  async withPermit<T>(fn: (permit: PermitHandle) => Promise<T> | T, options?: WaitCallOptions): Promise<T> {
    return runHolding(await this.acquire(options), fn);
  }

  /** Adds a permit without giving one back (signalling). A bounded semaphore refuses past its value. */
  release(): Promise<void> {
    return this.call('release', []);
  }

  /** Permits available now. */
  value(): Promise<number> {
    return this.call('value', []);
  }

  state(): Promise<SemaphoreState> {
    return this.call('state', []);
  }

  /** @internal */
  async releaseToken(token: string): Promise<void> {
    await this.call('release', [token]);
    this.client.untrackHeld(token);
  }
}
