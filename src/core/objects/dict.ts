/**
 * The shared dict: string keys, any JSON value. docs/PROTOCOL.md §7.1 lists each operation.
 *
 * Atomicity: every operation below runs synchronously, start to finish, in one turn of the event
 * loop; the server never awaits in the middle of one, so no other request can observe or change the
 * dict half-way. Multi-key operations (`update`, `setMany`) validate all input before the first
 * write, so they apply all entries or none. That is why no lock is taken here: a mutex would only
 * add latency. Operations that must await part-way run under the object's mutex (see dispatch.ts).
 */
import { OperationError } from '../../errors.js';
import { jsonEqual } from '../../util/json-equal.js';
import { checkArity, describeJsonType, entriesArg, numberArg, stringArg, stringArrayArg } from '../args.js';
import { type AnyEffect, ReplayError, unknownEffect } from '../effects.js';
import { type ObjectType, type OpContext, type Operation, opsTable } from '../object-type.js';

/**
 * A Map keeps keys as plain data: `__proto__` or `constructor` are keys like any other. The name
 * goes into the effects; a plain `new Map()` works as a state too.
 */
export class DictState extends Map<string, unknown> {
  name?: string;

  constructor(name?: string) {
    super();
    this.name = name;
  }
}

type DictEffect =
  | readonly ['dset', name: string, key: string, value: unknown]
  | readonly ['ddel', name: string, key: string]
  | readonly ['dclear', name: string]
  /** Never published: undoes a `ddel` by putting `key` back at `position` (key order is state). */
  | readonly ['dput', name: string, key: string, value: unknown, position: number];

function set(dict: DictState, key: string, value: unknown, context: OpContext): void {
  context.emit(['dset', dict.name!, key, value]);
}

/**
 * Deletes `key` (present) and, when `undoable`, returns how to put it back at its place.
 * Re-setting it would append it at the end, and the order of keys is part of the state
 * (docs/PROTOCOL.md §7.1): the replay of the log, which never saw a rolled-back batch, keeps it.
 */
function deleteKey(dict: DictState, name: string, key: string, undoable: boolean): DictEffect | undefined {
  if (!undoable) {
    dict.delete(key);
    return undefined;
  }
  if (!dict.has(key)) return undefined;
  const value = dict.get(key);
  let position = 0;
  for (const existing of dict.keys()) {
    if (existing === key) break;
    position++;
  }
  dict.delete(key);
  return ['dput', name, key, value, position];
}

/** The inverse of a delete: the dict is as it was right after it, so the keys from `position` on followed `key`. */
function putBack(dict: DictState, key: string, value: unknown, position: number): void {
  const following = [...dict].slice(position);
  dict.set(key, value);
  for (const [k, v] of following) {
    dict.delete(k);
    dict.set(k, v);
  }
}

function applyDict(dict: DictState, effect: AnyEffect, undoable: boolean): AnyEffect | undefined {
  // Indexed reads, not destructuring: this runs for every write.
  const kind = effect[0];
  const name = effect[1] as string;
  if (kind === 'dset') {
    const key = effect[2] as string;
    if (typeof key !== 'string') throw new ReplayError(`dict ${JSON.stringify(name)}: a key must be a string`);
    if (!undoable) {
      dict.set(key, effect[3]);
      return undefined;
    }
    const inverse: DictEffect = dict.has(key) ? ['dset', name, key, dict.get(key)] : ['ddel', name, key];
    dict.set(key, effect[3]);
    return inverse;
  }
  if (kind === 'ddel') return deleteKey(dict, name, effect[2] as string, undoable);
  if (kind === 'dclear') {
    const inverse = undoable && dict.size > 0 ? (['fill', name, null, [...dict]] as const) : undefined;
    dict.clear();
    return inverse;
  }
  if (kind === 'dput') {
    putBack(dict, effect[2] as string, effect[3], effect[4] as number);
    return undefined;
  }
  throw unknownEffect('dict', effect);
}

function keyArg(args: unknown[], signature: string): string {
  return stringArg(args, 0, 'key', signature);
}

/** `update` and `setMany`: every entry is validated by entriesArg before the first write. */
function setAll(signature: string): Operation<DictState> {
  return (dict, args, context) => {
    checkArity(args, 1, 1, signature);
    for (const [key, value] of entriesArg(args, 0, 'entries', signature)) {
      set(dict, key, value, context);
    }
    return null;
  };
}

export const dictType: ObjectType<DictState> = {
  name: 'dict',
  create: (_init, name) => new DictState(name),
  apply: applyDict,
  capture: (dict) => {
    // Two flat arrays: about 10 ms per million entries, far cheaper than copying the Map.
    const keys = Array.from(dict.keys());
    const values = Array.from(dict.values());
    return {
      init: null,
      meta: null,
      items: {
        count: keys.length,
        slice: (start, end) => {
          const pairs: unknown[] = [];
          for (let i = start; i < end; i++) pairs.push([keys[i], values[i]]);
          return pairs;
        },
      },
    };
  },
  fill: (dict, _meta, items) => {
    for (const pair of items ?? []) {
      if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== 'string') throw new ReplayError('dict items must be [key, value] pairs');
      dict.set(pair[0], pair[1]);
    }
  },
  growingOps: new Set(['set', 'update', 'setMany', 'incr', 'setdefault', 'compareAndSet']),
  freeingOps: new Set(['delete', 'pop', 'clear']),
  ops: opsTable<DictState>({
    get(dict, args) {
      checkArity(args, 1, 2, 'get(key, default?)');
      const key = keyArg(args, 'get(key, default?)');
      // Stored values are JSON, never undefined, so one lookup tells presence and value.
      const value = dict.get(key);
      if (value !== undefined) return value;
      return args.length > 1 ? args[1] : null;
    },

    set(dict, args, context) {
      checkArity(args, 2, 2, 'set(key, value)');
      const key = keyArg(args, 'set(key, value)');
      set(dict, key, args[1], context);
      return null;
    },

    has(dict, args) {
      checkArity(args, 1, 1, 'has(key)');
      return dict.has(keyArg(args, 'has(key)'));
    },

    delete(dict, args, context) {
      checkArity(args, 1, 1, 'delete(key)');
      const key = keyArg(args, 'delete(key)');
      if (!dict.has(key)) return false;
      context.emit(['ddel', dict.name!, key]);
      return true;
    },

    update: setAll('update(entries)'),

    incr(dict, args, context) {
      const signature = 'incr(key, by?)';
      checkArity(args, 1, 2, signature);
      const key = keyArg(args, signature);
      const by = args.length > 1 ? numberArg(args, 1, 'by', signature) : 1;
      // Only a missing key counts as 0: a stored null is a value, and not a number (WRONG_TYPE).
      const current = dict.has(key) ? dict.get(key) : 0;
      if (typeof current !== 'number') {
        throw new OperationError('WRONG_TYPE', `incr: the value at key ${JSON.stringify(key)} is a ${describeJsonType(current)}, not a number`, { key });
      }
      const next = current + by;
      if (!Number.isFinite(next)) {
        throw new OperationError('OUT_OF_RANGE', `incr: ${current} + ${by} is not a finite number`, { key });
      }
      // Past 2^53 an integer sum rounds, and a counter would silently stop counting.
      if (!Number.isSafeInteger(next) && Number.isInteger(current) && Number.isInteger(by)) {
        throw new OperationError('OUT_OF_RANGE', `incr: ${current} + ${by} is beyond ±(2^53 - 1), where integers are no longer exact`, { key });
      }
      set(dict, key, next, context);
      return next;
    },

    keys(dict, args) {
      checkArity(args, 0, 0, 'keys()');
      return [...dict.keys()];
    },

    values(dict, args) {
      checkArity(args, 0, 0, 'values()');
      return [...dict.values()];
    },

    items(dict, args) {
      checkArity(args, 0, 0, 'items()');
      return [...dict.entries()];
    },

    size(dict, args) {
      checkArity(args, 0, 0, 'size()');
      return dict.size;
    },

    clear(dict, args, context) {
      checkArity(args, 0, 0, 'clear()');
      if (dict.size > 0) context.emit(['dclear', dict.name!]);
      return null;
    },

    pop(dict, args, context) {
      const signature = 'pop(key, default?)';
      checkArity(args, 1, 2, signature);
      const key = keyArg(args, signature);
      if (dict.has(key)) {
        const value = dict.get(key);
        context.emit(['ddel', dict.name!, key]);
        return value;
      }
      if (args.length > 1) return args[1];
      throw new OperationError('KEY_NOT_FOUND', `pop: key ${JSON.stringify(key)} not found and no default given`, { key });
    },

    setdefault(dict, args, context) {
      checkArity(args, 2, 2, 'setdefault(key, value)');
      const key = keyArg(args, 'setdefault(key, value)');
      if (dict.has(key)) return dict.get(key);
      set(dict, key, args[1], context);
      return args[1];
    },

    compareAndSet(dict, args, context) {
      const signature = 'compareAndSet(key, expected, next)';
      checkArity(args, 3, 3, signature);
      const key = keyArg(args, signature);
      // A missing key compares equal to null, so compareAndSet(k, null, v) creates k.
      const current = dict.has(key) ? dict.get(key) : null;
      if (!jsonEqual(current, args[1])) return false;
      set(dict, key, args[2], context);
      return true;
    },

    getMany(dict, args) {
      const signature = 'getMany(keys, default?)';
      checkArity(args, 1, 2, signature);
      const keys = stringArrayArg(args, 0, 'keys', signature);
      const fallback = args[1] ?? null;
      return keys.map((key) => (dict.has(key) ? dict.get(key) : fallback));
    },

    setMany: setAll('setMany(entries)'),
  }),
};
