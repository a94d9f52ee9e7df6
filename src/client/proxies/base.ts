/** What every proxy shares: its client, the object's type, name and creation parameters. */
import type { AbortError } from '../../errors.js';
import type { CallOptions, Client, OutgoingRequest } from '../client.js';
import type { ObjectTargets } from '../request-targets.js';

/** Options of a call that may block on the server. `timeout` is in seconds and enforced there. */
export interface WaitCallOptions {
  /** Seconds to wait on the server; omitted: as long as it takes. */
  timeout?: number;
  /** Cancels the wait on the server. */
  signal?: AbortSignal;
}

export abstract class ObjectProxy {
  constructor(
    protected readonly client: Client,
    /** The object's type on the server. */
    readonly type: string,
    /** The object's name on the server. */
    readonly name: string,
    /** Creation parameters sent with each request (used only when the object does not exist). */
    protected readonly init?: Record<string, unknown>,
    protected readonly options?: CallOptions,
  ) {}

  protected call<T>(op: string, args: unknown[]): Promise<T> {
    return this.client.request(this.message(op, args), this.options) as Promise<T>;
  }

  /** A call that may wait on the server: its timeout travels as an argument. */
  protected callBlocking<T>(op: string, args: unknown[], options: WaitCallOptions | undefined): Promise<T> {
    const signal = options?.signal ?? this.options?.signal;
    return this.client.request(this.message(op, args), signal === undefined ? undefined : { signal }, true) as Promise<T>;
  }

  private message(op: string, args: unknown[]): OutgoingRequest {
    return this.init === undefined
      ? { op, type: this.type, name: this.name, args, target: this.target(op) }
      : { op, type: this.type, name: this.name, args, init: this.init };
  }

  /** Each operation's `"op"`, `"type"` and `"name"`, encoded once per client (request-targets.ts). */
  private targets: ObjectTargets | undefined;

  private target(op: string): Buffer | undefined {
    return (this.targets ??= this.client.requestTargets.of(this.type, this.name)).get(op);
  }
}

/** Something held on the server until released: a lock grant or a semaphore permit. */
export interface Releasable {
  readonly lost: boolean;
  release(): Promise<void>;
}

/**
 * Runs `fn` with `handle`, then releases it however `fn` ends. If `fn` threw, its error wins over
 * a failed release (a release fails with NOT_OWNER when the hold was lost meanwhile).
 */
export async function runHolding<H extends Releasable, T>(handle: H, fn: (handle: H) => Promise<T> | T): Promise<T> {
  let result: T;
  try {
    result = await fn(handle);
  } catch (err) {
    if (!handle.lost) await handle.release().catch(() => {});
    throw err;
  }
  if (!handle.lost) await handle.release();
  return result;
}

/**
 * Whether a hold (a lock grant, a permit) was lost, with an AbortSignal for it made only when
 * asked for: making an AbortController and reading its signal costs more than the rest of an
 * acquisition's work in the client.
 */
export class LossSignal {
  private reason: AbortError | undefined;
  private controller: AbortController | undefined;

  get lost(): boolean {
    return this.reason !== undefined;
  }

  /** Aborted, with the AbortError saying why, once the hold is lost (already, if it was). */
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController();
      if (this.reason !== undefined) this.controller.abort(this.reason);
    }
    return this.controller.signal;
  }

  /** Marks the hold lost; only the first reason counts. */
  lose(reason: AbortError): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.controller?.abort(reason);
  }
}
