/** Typed handle on a shared dict. Each method is one request; see docs/PROTOCOL.md §7.1. */
import type { CallOptions, Client } from '../client.js';
import { ObjectProxy } from './base.js';

/** Entries for update/setMany: a plain object, a Map, or any iterable of [key, value] pairs. */
export type DictEntries<V> = Record<string, V> | Map<string, V> | Iterable<readonly [string, V]>;

/**
 * Plain objects travel as JSON objects; anything iterable as `[key, value]` pairs, which keeps keys
 * such as `__proto__` ordinary keys end to end.
 */
function entriesToWire<V>(entries: DictEntries<V>): unknown {
  if (Symbol.iterator in Object(entries)) return Array.from(entries as Iterable<readonly [string, V]>);
  return entries;
}

export class DictProxy<V = unknown> extends ObjectProxy {
  constructor(client: Client, name: string, options?: CallOptions) {
    super(client, 'dict', name, undefined, options);
  }

  /** The same dict with other call options (timeout in seconds, AbortSignal). */
  withOptions(options: CallOptions): DictProxy<V> {
    return new DictProxy<V>(this.client, this.name, { ...this.options, ...options });
  }

  /** The value at `key`, or `fallback` (default null) when the key is missing. */
  get(key: string): Promise<V | null>;
  get<D>(key: string, fallback: D): Promise<V | D>;
  get(key: string, ...fallback: unknown[]): Promise<unknown> {
    return this.call('get', [key, ...fallback.slice(0, 1)]);
  }

  set(key: string, value: V): Promise<void> {
    return this.call('set', [key, value]);
  }

  has(key: string): Promise<boolean> {
    return this.call('has', [key]);
  }

  /** Removes `key`; resolves with whether it existed. */
  delete(key: string): Promise<boolean> {
    return this.call('delete', [key]);
  }

  /** Sets every entry, atomically: all of them or (on bad input) none. */
  update(entries: DictEntries<V>): Promise<void> {
    return this.call('update', [entriesToWire(entries)]);
  }

  /**
   * Adds `by` (default 1) to the number at `key` (a missing key counts as 0) and resolves with the
   * new value. Rejects with code WRONG_TYPE, leaving the value as it was, if it is not a number.
   */
  incr(key: string, by?: number): Promise<number> {
    return this.call('incr', by === undefined ? [key] : [key, by]);
  }

  keys(): Promise<string[]> {
    return this.call('keys', []);
  }

  values(): Promise<V[]> {
    return this.call('values', []);
  }

  items(): Promise<Array<[string, V]>> {
    return this.call('items', []);
  }

  size(): Promise<number> {
    return this.call('size', []);
  }

  clear(): Promise<void> {
    return this.call('clear', []);
  }

  /** Removes `key` and resolves with its value; without a fallback a missing key is KEY_NOT_FOUND. */
  pop(key: string): Promise<V>;
  pop<D>(key: string, fallback: D): Promise<V | D>;
  pop(key: string, ...fallback: unknown[]): Promise<unknown> {
    return this.call('pop', [key, ...fallback.slice(0, 1)]);
  }

  /** Sets `key` to `value` unless present; resolves with the value now stored. */
  setdefault(key: string, value: V): Promise<V> {
    return this.call('setdefault', [key, value]);
  }

  /**
   * Sets `key` to `next` only if its value deep-equals `expected` (a missing key equals null).
   * Resolves with whether it did.
   */
  compareAndSet(key: string, expected: V | null, next: V): Promise<boolean> {
    return this.call('compareAndSet', [key, expected, next]);
  }

  /** The values at `keys`, in order; `fallback` (default null) for missing ones. */
  getMany(keys: string[]): Promise<Array<V | null>>;
  getMany<D>(keys: string[], fallback: D): Promise<Array<V | D>>;
  getMany(keys: string[], ...fallback: unknown[]): Promise<unknown[]> {
    return this.call('getMany', [keys, ...fallback.slice(0, 1)]);
  }

  /** Same as {@link update}. */
  setMany(entries: DictEntries<V>): Promise<void> {
    return this.call('setMany', [entriesToWire(entries)]);
  }
}
