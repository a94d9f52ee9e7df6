/** Shared lists. Indices follow Python: negative ones count from the end. */
import type { CallOptions, Client } from '../client.js';
import { ObjectProxy } from './base.js';

export class ListProxy<T = unknown> extends ObjectProxy {
  constructor(client: Client, name: string, options?: CallOptions) {
    super(client, 'list', name, undefined, options);
  }

  /** Appends; resolves with the new length. */
  append(value: T): Promise<number> {
    return this.call('append', [value]);
  }

  /** Appends every value; resolves with the new length. */
  extend(values: T[]): Promise<number> {
    return this.call('extend', [values]);
  }

  /** The item at `index`; OUT_OF_RANGE if there is none. */
  get(index: number): Promise<T> {
    return this.call('get', [index]);
  }

  set(index: number, value: T): Promise<void> {
    return this.call('set', [index, value]);
  }

  /** Inserts before `index` (past either end: at that end); resolves with the new length. */
  insert(index: number, value: T): Promise<number> {
    return this.call('insert', [index, value]);
  }

  /** Removes and returns the item at `index` (default: the last). */
  pop(index?: number): Promise<T> {
    return this.call('pop', index === undefined ? [] : [index]);
  }

  /** Removes the first item deep-equal to `value`; VALUE_NOT_FOUND if none. */
  remove(value: T): Promise<void> {
    return this.call('remove', [value]);
  }

  /** Position of the first item deep-equal to `value`; VALUE_NOT_FOUND if none. */
  index(value: T): Promise<number> {
    return this.call('index', [value]);
  }

  len(): Promise<number> {
    return this.call('len', []);
  }

  /** Items `start` to `end - 1`, Python slice rules; no arguments: the whole list. */
  slice(start?: number, end?: number): Promise<T[]> {
    return this.call('slice', end === undefined ? (start === undefined ? [] : [start]) : [start ?? null, end]);
  }

  clear(): Promise<void> {
    return this.call('clear', []);
  }
}
