/**
 * The shared list: any JSON values, Python-style indices (negative counts from the end).
 * Every operation is synchronous and therefore atomic, as for dicts.
 */
import { OperationError } from '../../errors.js';
import { jsonEqual } from '../../util/json-equal.js';
import { checkArity } from '../args.js';
import { type AnyEffect, ReplayError, unknownEffect } from '../effects.js';
import { type ObjectType, type OpContext, opsTable } from '../object-type.js';

/** The items, and the name the effects carry (a plain [] works too). */
export type ListState = unknown[] & { name?: string };

function integerArg(args: unknown[], index: number, param: string, signature: string): number {
  const value = args[index];
  if (typeof value !== 'number' || !Number.isSafeInteger(value)) {
    throw new OperationError('INVALID_ARGUMENT', `${signature}: ${param} must be a whole number`);
  }
  return value;
}

/** Resolves a Python index into 0..length-1, or OUT_OF_RANGE. */
function position(list: ListState, index: number, signature: string): number {
  const resolved = index < 0 ? list.length + index : index;
  if (resolved < 0 || resolved >= list.length) {
    throw new OperationError('OUT_OF_RANGE', `${signature}: index ${index} out of range for a list of ${list.length}`);
  }
  return resolved;
}

/** Python slice bound: clamps into 0..length, negatives from the end. */
function bound(list: ListState, value: unknown, fallback: number, param: string, signature: string): number {
  if (value === undefined || value === null) return fallback;
  const index = integerArg([value], 0, param, signature);
  const resolved = index < 0 ? list.length + index : index;
  return Math.min(Math.max(resolved, 0), list.length);
}

function find(list: ListState, value: unknown, signature: string): number {
  const at = list.findIndex((item) => jsonEqual(item, value));
  if (at < 0) throw new OperationError('VALUE_NOT_FOUND', `${signature}: value not in list`);
  return at;
}

/** Emits `list.splice(start, deleteCount, ...items)`; returns what it removed. */
function splice(list: ListState, context: OpContext, start: number, deleteCount: number, items: readonly unknown[]): unknown[] {
  const removed = list.slice(start, start + deleteCount);
  context.emit(['lsplice', list.name!, start, deleteCount, items]);
  return removed;
}

function applyList(list: ListState, effect: AnyEffect, undoable: boolean): AnyEffect | undefined {
  if (effect[0] !== 'lsplice') throw unknownEffect('list', effect);
  const [, name, start, deleteCount, items] = effect as readonly [string, string, number, number, readonly unknown[]];
  if (!Array.isArray(items) || typeof start !== 'number' || start > list.length) {
    throw new ReplayError(`list splice at ${start} does not fit a list of ${list.length}`);
  }
  const removed = spliceItems(list, start, deleteCount, items);
  return undoable ? ['lsplice', name, start, items.length, removed] : undefined;
}

/** `list.splice(start, deleteCount, ...items)` without spreading a possibly huge array. */
function spliceItems(list: unknown[], start: number, deleteCount: number, items: readonly unknown[]): unknown[] {
  if (items.length < 4096) return list.splice(start, deleteCount, ...items);
  const tail = list.splice(start);
  const removed = tail.splice(0, deleteCount);
  for (const item of items) list.push(item);
  for (const item of tail) list.push(item);
  return removed;
}

export const listType: ObjectType<ListState> = {
  name: 'list',
  create: (_init, name): ListState => Object.assign([], { name }),
  apply: applyList,
  capture: (list) => {
    const items = list.slice();
    return { init: null, meta: null, items: { count: items.length, slice: (start, end) => items.slice(start, end) } };
  },
  fill: (list, _meta, items) => {
    for (const item of items ?? []) list.push(item);
  },
  growingOps: new Set(['append', 'extend', 'insert', 'set']),
  freeingOps: new Set(['pop', 'remove', 'clear']),
  ops: opsTable<ListState>({
    append(list, args, context) {
      checkArity(args, 1, 1, 'append(value)');
      splice(list, context, list.length, 0, [args[0]]);
      return list.length;
    },

    extend(list, args, context) {
      checkArity(args, 1, 1, 'extend(values)');
      if (!Array.isArray(args[0])) throw new OperationError('INVALID_ARGUMENT', 'extend(values): values must be an array');
      splice(list, context, list.length, 0, args[0]);
      return list.length;
    },

    get(list, args) {
      checkArity(args, 1, 1, 'get(index)');
      return list[position(list, integerArg(args, 0, 'index', 'get(index)'), 'get(index)')];
    },

    set(list, args, context) {
      checkArity(args, 2, 2, 'set(index, value)');
      const at = position(list, integerArg(args, 0, 'index', 'set(index, value)'), 'set(index, value)');
      splice(list, context, at, 1, [args[1]]);
      return null;
    },

    /** insert(index, value): as Python, an index past either end inserts at that end. */
    insert(list, args, context) {
      checkArity(args, 2, 2, 'insert(index, value)');
      const at = bound(list, integerArg(args, 0, 'index', 'insert(index, value)'), 0, 'index', 'insert(index, value)');
      splice(list, context, at, 0, [args[1]]);
      return list.length;
    },

    /** pop(index = -1) → the removed value. */
    pop(list, args, context) {
      checkArity(args, 0, 1, 'pop(index?)');
      const index = args.length > 0 ? integerArg(args, 0, 'index', 'pop(index?)') : -1;
      return splice(list, context, position(list, index, 'pop(index?)'), 1, [])[0];
    },

    /** remove(value): removes the first deep-equal item, or VALUE_NOT_FOUND. */
    remove(list, args, context) {
      checkArity(args, 1, 1, 'remove(value)');
      splice(list, context, find(list, args[0], 'remove(value)'), 1, []);
      return null;
    },

    /** index(value) → position of the first deep-equal item, or VALUE_NOT_FOUND. */
    index(list, args) {
      checkArity(args, 1, 1, 'index(value)');
      return find(list, args[0], 'index(value)');
    },

    len(list, args) {
      checkArity(args, 0, 0, 'len()');
      return list.length;
    },

    /** slice(start?, end?) → items start..end-1, Python slice rules; slice() is the whole list. */
    slice(list, args) {
      const signature = 'slice(start?, end?)';
      checkArity(args, 0, 2, signature);
      return list.slice(bound(list, args[0], 0, 'start', signature), bound(list, args[1], list.length, 'end', signature));
    },

    clear(list, args, context) {
      checkArity(args, 0, 0, 'clear()');
      if (list.length > 0) splice(list, context, 0, list.length, []);
      return null;
    },
  }),
};
