/**
 * A Map for entries that come and go one at a time. It keeps one hidden entry so that its table
 * never empties: V8 shrinks a Map's table when a delete leaves it under a quarter full, so a Map
 * that goes from one entry back to none reallocates its table on every delete. The client's
 * requests in flight are such a Map when one request is sent at a time; an in-process run of
 * sequential incr and of locked read-modify-writes was 5-8% faster with this one.
 */
const ANCHOR = Symbol('anchor');

export class SteadyMap<K, V> {
  private readonly map = new Map<K | typeof ANCHOR, V | undefined>([[ANCHOR, undefined]]);

  get size(): number {
    return this.map.size - 1;
  }

  get(key: K): V | undefined {
    return this.map.get(key);
  }

  set(key: K, value: V): void {
    this.map.set(key, value);
  }

  delete(key: K): boolean {
    return this.map.delete(key);
  }

  *keys(): IterableIterator<K> {
    for (const key of this.map.keys()) if (key !== ANCHOR) yield key;
  }

  *values(): IterableIterator<V> {
    for (const [key, value] of this.map) if (key !== ANCHOR) yield value!;
  }

  /** Removes every entry. */
  clear(): void {
    this.map.clear();
    this.map.set(ANCHOR, undefined);
  }
}
