/** Barriers, as `threading.Barrier`. */
import type { CallOptions, Client } from '../client.js';
import { ObjectProxy, type WaitCallOptions } from './base.js';

export interface BarrierState {
  parties: number;
  waiting: number;
  broken: boolean;
}

export class BarrierProxy extends ObjectProxy {
  constructor(client: Client, name: string, parties: number | undefined, options?: CallOptions) {
    super(client, 'barrier', name, parties === undefined ? undefined : { parties }, options);
  }

  /**
   * Waits until `parties` callers have arrived; resolves with this caller's arrival index
   * (0..parties-1). Rejects with code BROKEN_BARRIER if the barrier is or becomes broken (abort,
   * reset, or any party's timeout, as in Python).
   */
  wait(options?: WaitCallOptions): Promise<number> {
    return this.callBlocking('wait', [options?.timeout ?? null], options);
  }

  /** Breaks the barrier: current and future waiters get BROKEN_BARRIER until reset(). */
  abort(): Promise<void> {
    return this.call('abort', []);
  }

  /** Empties and mends the barrier; current waiters get BROKEN_BARRIER. */
  reset(): Promise<void> {
    return this.call('reset', []);
  }

  state(): Promise<BarrierState> {
    return this.call('state', []);
  }
}
