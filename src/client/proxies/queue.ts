/** Queues, as `multiprocessing.JoinableQueue`. Each item is delivered to exactly one getter. */
import type { CallOptions, Client } from '../client.js';
import { ObjectProxy, type WaitCallOptions } from './base.js';

export interface QueueOptions extends CallOptions {
  /** Most items held (0 or absent: unbounded). Applies when the queue is created. */
  maxsize?: number;
}

export interface QueueState {
  size: number;
  maxsize: number;
  unfinished: number;
  getters: number;
  putters: number;
}

export class QueueProxy<T = unknown> extends ObjectProxy {
  constructor(client: Client, name: string, options: QueueOptions = {}) {
    const { maxsize, ...callOptions } = options;
    super(client, 'queue', name, maxsize === undefined ? undefined : { maxsize }, callOptions);
  }

  /** Adds an item, waiting while the queue is full; rejects with QUEUE_FULL after `timeout` seconds. */
  put(item: T, options?: WaitCallOptions): Promise<void> {
    return this.callBlocking('put', [item, options?.timeout ?? null], options);
  }

  /**
   * Takes the oldest item, waiting while the queue is empty; rejects with QUEUE_EMPTY after
   * `timeout` seconds. An item the server handed over just as the caller aborted is still
   * returned, so no item is lost.
   */
  get(options?: WaitCallOptions): Promise<T> {
    return this.callBlocking('get', [options?.timeout ?? null], options);
  }

  /** Adds an item or rejects with QUEUE_FULL at once. */
  putNowait(item: T): Promise<void> {
    return this.call('putNowait', [item]);
  }

  /** Takes an item or rejects with QUEUE_EMPTY at once. */
  getNowait(): Promise<T> {
    return this.call('getNowait', []);
  }

  size(): Promise<number> {
    return this.call('size', []);
  }

  empty(): Promise<boolean> {
    return this.call('empty', []);
  }

  full(): Promise<boolean> {
    return this.call('full', []);
  }

  /** Marks one item taken with get() as processed. */
  taskDone(): Promise<void> {
    return this.call('taskDone', []);
  }

  /** Resolves true once every item put has been marked done, or false after `timeout` seconds. */
  join(options?: WaitCallOptions): Promise<boolean> {
    return this.callBlocking('join', [options?.timeout ?? null], options);
  }

  state(): Promise<QueueState> {
    return this.call('state', []);
  }
}
