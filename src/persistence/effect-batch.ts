/**
 * The changes of consecutive requests, merged into ONE log record while the record waits for its
 * write (a millisecond under `everysec` and `no`, an event-loop turn under `always`).
 *
 * A hot key costs one effect per write instead of one per request: while the record is open, a
 * later `dset` of a dict key overwrites the value of the earlier one in place. That replays to the
 * same state, key order included: the key was already where the later set leaves it, and sets of
 * other keys commute with it. Anything that forgets the key in between (`ddel` of it; `dclear`,
 * `create` or `fill` of its dict) makes the next set a new effect at the end. Every other effect is
 * kept as it came, in order.
 *
 * Only whole requests are added, so a record is still all-or-nothing on replay: a crash loses a
 * suffix of requests, never part of one. Stored values are never mutated (core/effects.ts), so
 * holding them until the record is sealed writes what the request stored.
 */
import type { AnyEffect, Effect } from '../core/effects.js';

/** A dict key's latest value in the batch. */
interface KeySet {
  readonly name: string;
  readonly key: string;
  value: unknown;
  /** The value's JSON when it is an object (serialized once, when set, to know its size). */
  valueJson: string | undefined;
  /** Characters counted for it in {@link EffectBatch.size}. */
  size: number;
}

/** Characters counted for a number, boolean or null value (a guess: sizes only bound a record). */
const SCALAR_CHARS = 24;
/** `["dset",` `,` `,` `]` around name, key and value, with their quotes. */
const DSET_OVERHEAD = 17;

export class EffectBatch {
  /** Effects in order: serialized, or a key's latest set (serialized when sealed). */
  private readonly parts: Array<string | KeySet> = [];
  /** Per dict name, its keys' sets that a later set of the same key may overwrite. */
  private readonly openSets = new Map<string, Map<string, KeySet>>();
  private isSealed = false;
  /**
   * Approximate length of the payload in UTF-16 units. Escapes are not counted, so a record of
   * control characters can serialize to several times this: it bounds a record loosely (the store
   * closes one at about 1 MiB), far below the log's 1 GiB record limit.
   */
  size = 2;

  /** True once {@link seal} has run: nothing more may be added. */
  get sealed(): boolean {
    return this.isSealed;
  }

  /** Adds the effects of one whole request (or atomic batch), in order. */
  add(effects: readonly AnyEffect[]): void {
    if (this.isSealed) throw new Error('effects added to a sealed log record');
    for (const change of effects) {
      // Built-in kinds are recognised by name; other types' effects are kept as they came.
      const effect = change as Effect;
      if (effect[0] === 'dset') this.set(effect[1], effect[2], effect[3]);
      else this.push(effect);
    }
  }

  /**
   * The record's payload (a JSON array of effects), handed over once: the batch keeps nothing of
   * it, since the store may hold on to a sealed batch until the next change.
   */
  seal(): string {
    if (this.isSealed) throw new Error('a log record is sealed once');
    this.isSealed = true;
    const texts = this.parts.map((part) => (typeof part === 'string' ? part : dsetJson(part)));
    this.parts.length = 0;
    this.openSets.clear();
    return `[${texts.join(',')}]`;
  }

  private set(name: string, key: string, value: unknown): void {
    let keys = this.openSets.get(name);
    if (keys === undefined) {
      keys = new Map();
      this.openSets.set(name, keys);
    }
    const valueJson = typeof value === 'object' && value !== null ? JSON.stringify(value) : undefined;
    const size = DSET_OVERHEAD + name.length + key.length + (typeof value === 'string' ? value.length + 2 : (valueJson?.length ?? SCALAR_CHARS));
    const open = keys.get(key);
    if (open !== undefined) {
      this.size += size - open.size;
      open.value = value;
      open.valueJson = valueJson;
      open.size = size;
      return;
    }
    const entry: KeySet = { name, key, value, valueJson, size };
    keys.set(key, entry);
    this.parts.push(entry);
    this.size += size + 1;
  }

  private push(effect: AnyEffect): void {
    switch (effect[0]) {
      case 'ddel':
        this.openSets.get(effect[1] as string)?.delete(effect[2] as string);
        break;
      case 'dclear':
      case 'fill':
        this.openSets.delete(effect[1] as string);
        break;
      case 'create':
        this.openSets.delete(effect[2] as string);
        break;
      default:
        break;
    }
    const text = JSON.stringify(effect);
    this.parts.push(text);
    this.size += text.length + 1;
  }
}

function dsetJson(entry: KeySet): string {
  // A value JSON cannot hold (undefined) is written as JSON.stringify writes it inside an array.
  const value = entry.valueJson ?? JSON.stringify(entry.value) ?? 'null';
  return `["dset",${JSON.stringify(entry.name)},${JSON.stringify(entry.key)},${value}]`;
}
