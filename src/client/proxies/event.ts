/** Events, as `threading.Event`. */
import type { CallOptions, Client } from '../client.js';
import { ObjectProxy, type WaitCallOptions } from './base.js';

export class EventProxy extends ObjectProxy {
  constructor(client: Client, name: string, options?: CallOptions) {
    super(client, 'event', name, undefined, options);
  }

  /** Sets the flag and wakes every waiter. */
  set(): Promise<void> {
    return this.call('set', []);
  }

  clear(): Promise<void> {
    return this.call('clear', []);
  }

  isSet(): Promise<boolean> {
    return this.call('isSet', []);
  }

  /** Resolves true once the flag is set, or false if `timeout` seconds pass first. */
  wait(options?: WaitCallOptions): Promise<boolean> {
    return this.callBlocking('wait', [options?.timeout ?? null], options);
  }
}
