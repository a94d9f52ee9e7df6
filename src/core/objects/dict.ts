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
import type { Journal } from '../effects.js';
import { type ObjectType, type OpContext, type Operation, opsTable } from './types.js';

/**
 * A Map keeps keys as plain data: `__proto__` or `constructor` are keys like any other. The name
 * and journal are set when the server persists changes; a plain `new Map()` works as a state too.
 */
export class DictState extends Map<string, unknown> {
  name?: string;
  journal?: Journal | undefined;

  constructor(name?: string, journal?: Journal) {
    super();
    this.name = name;
    this.journal = journal;
  }
}

/** Journals `key` = `value` (core/effects.ts); a no-op in memory. */
function logSet(dict: DictState, key: string, value: unknown): void {
  dict.journal?.add(['dset', dict.name!, key, value]);
}

function logDelete(dict: DictState, key: string): void {
  dict.journal?.add(['ddel', dict.name!, key]);
}

/** Inside an atomic batch, records how to put `key` back as it is now. */
function remember(dict: DictState, key: string, context: OpContext): void {
  if (!context.atomic) return;
  if (dict.has(key)) {
    const previous = dict.get(key);
    context.undo(() => void dict.set(key, previous));
  } else {
    context.undo(() => void dict.delete(key));
  }
}

/**
 * Inside an atomic batch, before `key` (present) is deleted: records how to put it back at its
 * place. Re-setting it would append it at the end, and the order of keys is part of the state
 * (docs/PROTOCOL.md §7.1): the replay of the log, which never saw the rolled-back batch, keeps it.
 */
function rememberDeleted(dict: DictState, key: string, context: OpContext): void {
  if (!context.atomic) return;
  const value = dict.get(key);
  let position = 0;
  for (const existing of dict.keys()) {
    if (existing === key) break;
    position++;
  }
  context.undo(() => {
    // Undo steps run newest first, so the dict is as it was right after this delete: the keys from
    // `position` on are the ones that followed `key`. Move them behind it again.
    const following = [...dict].slice(position);
    dict.set(key, value);
    for (const [k, v] of following) {
      dict.delete(k);
      dict.set(k, v);
    }
  });
}

function keyArg(args: unknown[], signature: string): string {
  return stringArg(args, 0, 'key', signature);
}

/** `update` and `setMany`: every entry is validated by entriesArg before the first write. */
function setAll(signature: string): Operation<DictState> {
  return (dict, args, context) => {
    checkArity(args, 1, 1, signature);
    for (const [key, value] of entriesArg(args, 0, 'entries', signature)) {
      remember(dict, key, context);
      dict.set(key, value);
      logSet(dict, key, value);
    }
    return null;
  };
}

export const dictType: ObjectType<DictState> = {
  name: 'dict',
  create: (_init, name, objects) => new DictState(name, objects.journal),
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
      remember(dict, key, context);
      dict.set(key, args[1]);
      logSet(dict, key, args[1]);
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
      rememberDeleted(dict, key, context);
      dict.delete(key);
      logDelete(dict, key);
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
      remember(dict, key, context);
      dict.set(key, next);
      logSet(dict, key, next);
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
      if (context.atomic) {
        const saved = [...dict];
        context.undo(() => {
          for (const [key, value] of saved) dict.set(key, value);
        });
      }
      if (dict.size > 0) dict.journal?.add(['dclear', dict.name!]);
      dict.clear();
      return null;
    },

    pop(dict, args, context) {
      const signature = 'pop(key, default?)';
      checkArity(args, 1, 2, signature);
      const key = keyArg(args, signature);
      if (dict.has(key)) {
        const value = dict.get(key);
        rememberDeleted(dict, key, context);
        dict.delete(key);
        logDelete(dict, key);
        return value;
      }
      if (args.length > 1) return args[1];
      throw new OperationError('KEY_NOT_FOUND', `pop: key ${JSON.stringify(key)} not found and no default given`, { key });
    },

    setdefault(dict, args, context) {
      checkArity(args, 2, 2, 'setdefault(key, value)');
      const key = keyArg(args, 'setdefault(key, value)');
      if (dict.has(key)) return dict.get(key);
      remember(dict, key, context);
      dict.set(key, args[1]);
      logSet(dict, key, args[1]);
      return args[1];
    },

    compareAndSet(dict, args, context) {
      const signature = 'compareAndSet(key, expected, next)';
      checkArity(args, 3, 3, signature);
      const key = keyArg(args, signature);
      // A missing key compares equal to null, so compareAndSet(k, null, v) creates k.
      const current = dict.has(key) ? dict.get(key) : null;
      if (!jsonEqual(current, args[1])) return false;
      remember(dict, key, context);
      dict.set(key, args[2]);
      logSet(dict, key, args[2]);
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
