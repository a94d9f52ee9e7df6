/**
 * Locks with ownership per acquisition: `acquire()` resolves with a {@link LockHandle} that alone
 * can release that grant, carries its fencing token, and tells (`lost`, `signal`) when the server
 * released the lock behind its back (the connection closed or the session timed out).
 */
import { AbortError } from '../../errors.js';
import type { CallOptions, Client } from '../client.js';
import { LossSignal, ObjectProxy, runHolding, type WaitCallOptions } from './base.js';

/** What the server returns for a lock grant. */
interface Grant {
  token: string;
  fence: number;
  depth: number;
}

/**
 * One acquisition of a lock. Release it exactly once (or let `await using` do it).
 * @hideconstructor
 */
// Not `implements HeldHandle`: that interface is internal, stripped from the published types,
// where the clause would name a type that is not there. trackHeld() checks the shape anyway.
export class LockHandle {
  /** Proof of ownership on the server. */
  readonly token: string;
  /** Strictly increases per lock across all holders: pass it to resources that refuse stale holders. */
  fence: number;
  /** RLock recursion depth; 1 for a Lock. */
  depth: number;
  private readonly loss = new LossSignal();
  private released = false;

  constructor(
    protected readonly proxy: LockProxy,
    grant: Grant,
  ) {
    this.token = grant.token;
    this.fence = grant.fence;
    this.depth = grant.depth;
    proxy.track(this);
  }

  /** The lock's name. */
  get name(): string {
    return this.proxy.name;
  }

  /** True once the server released this grant without us (connection closed, session timed out). */
  get lost(): boolean {
    return this.loss.lost;
  }

  /** Aborts when the lock is lost: hand it to work that must stop when the lock is gone. */
  get signal(): AbortSignal {
    return this.loss.signal;
  }

  /** @internal */
  markLost(reason: string): void {
    if (this.released || this.lost) return;
    this.loss.lose(new AbortError(`lock ${JSON.stringify(this.name)} was lost: ${reason}`));
  }

  /**
   * Releases one level (the whole lock for a Lock). Rejects with NOT_OWNER if this handle does not
   * hold it any more.
   */
  async release(): Promise<void> {
    const depth = await this.proxy.releaseToken(this.token);
    this.depth = depth;
    if (depth === 0) {
      this.released = true;
      this.proxy.untrack(this);
    }
  }

  /** RLock only: enters again through this handle (depth + 1). */
  async acquire(): Promise<void> {
    const grant = await this.proxy.reenter(this.token);
    this.depth = grant.depth;
  }

  /** Asks the server whether this handle still holds the lock. */
  owned(): Promise<boolean> {
    return this.proxy.ownedBy(this.token);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    while (!this.released && !this.lost && this.depth > 0) await this.release();
  }
}

export interface LockState {
  locked: boolean;
  /** The last fence granted. */
  fence: number;
  waiting: number;
}

/** A named Lock or RLock on the server. Waiters are granted in FIFO order. */
export class LockProxy extends ObjectProxy {
  constructor(client: Client, type: 'lock' | 'rlock' | 'condition', name: string, init?: Record<string, unknown>, options?: CallOptions) {
    super(client, type, name, init, options);
  }

  /**
   * Waits for the lock (FIFO) and resolves with the handle that owns this acquisition. Rejects with
   * TimeoutError (code TIMEOUT) when `timeout` seconds pass first (0: do not wait), or AbortError.
   */
  acquire(options?: WaitCallOptions): Promise<LockHandle> {
    // A then() rather than an async function awaiting an async handleFor: one promise and one
    // function activation fewer per acquisition, on the path of every locked update.
    return this.callBlocking<Grant>('acquire', [options?.timeout ?? null], options).then((grant) => this.handleFor(grant, options));
  }

  /** Runs `fn` holding the lock, and releases it however `fn` ends. */
  async withLock<T>(fn: (held: LockHandle) => Promise<T> | T, options?: WaitCallOptions): Promise<T> {
    return runHolding(await this.acquire(options), fn);
  }

  /** Whether anyone holds it now. */
  locked(): Promise<boolean> {
    return this.call('locked', []);
  }

  state(): Promise<LockState> {
    return this.call('state', []);
  }

  /** The handle of a grant; one that arrived after the caller aborted is handed straight back. */
  private handleFor(grant: Grant, options: WaitCallOptions | undefined): LockHandle | Promise<never> {
    const handle = this.makeHandle(grant);
    const signal = options?.signal;
    if (signal?.aborted !== true) return handle;
    const aborted = (): never => {
      throw new AbortError(undefined, { cause: signal.reason });
    };
    return handle.release().then(aborted, aborted);
  }

  protected makeHandle(grant: Grant): LockHandle {
    return new LockHandle(this, grant);
  }

  /** @internal */
  track(handle: LockHandle): void {
    this.client.trackHeld(handle.token, handle);
  }

  /** @internal */
  untrack(handle: LockHandle): void {
    this.client.untrackHeld(handle.token);
  }

  /** @internal Resolves with the remaining depth. */
  releaseToken(token: string): Promise<number> {
    return this.call('release', [token]);
  }

  /** @internal */
  reenter(token: string): Promise<Grant> {
    return this.call('acquire', [null, token]);
  }

  /** @internal */
  ownedBy(token: string): Promise<boolean> {
    return this.call('owned', [token]);
  }
}
