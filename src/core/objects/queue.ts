/**
 * Queue with JoinableQueue's task accounting, as `queue.Queue`/`multiprocessing.JoinableQueue`:
 * FIFO items, optional `maxsize` (0 = unbounded), blocking put/get with timeouts, taskDone/join.
 * Blocked getters and putters are served in FIFO order; an item is handed to exactly one getter.
 */
import { OperationError } from '../../errors.js';
import { Deque } from '../../util/deque.js';
import { checkArity } from '../args.js';
import { type AnyEffect, ReplayError, unknownEffect } from '../effects.js';
import { timeoutArg, WaitQueue } from '../waiting.js';
import { metaField, type ObjectType, type OpContext, opsTable, safeCount } from '../object-type.js';

export interface QueueState {
  readonly name: string;
  readonly maxsize: number;
  readonly items: Deque<unknown>;
  readonly getters: WaitQueue<unknown>;
  /** Blocked puts; each waiter's data is `{ item }`. */
  readonly putters: WaitQueue<null>;
  readonly joiners: WaitQueue<boolean>;
  /** Items put and not yet marked done with taskDone(). */
  unfinished: number;
}

function readMaxsize(init: unknown): number {
  const maxsize = init !== null && typeof init === 'object' ? (init as { maxsize?: unknown }).maxsize : undefined;
  if (maxsize === undefined || maxsize === null) return 0;
  if (typeof maxsize !== 'number' || !Number.isSafeInteger(maxsize) || maxsize < 0) {
    throw new OperationError('INVALID_ARGUMENT', 'queue: maxsize must be a whole number ≥ 0 (0 = unbounded)');
  }
  return maxsize;
}

function isFull(queue: QueueState): boolean {
  return queue.maxsize > 0 && queue.items.length >= queue.maxsize;
}

/** Moves items to waiting getters and waiting puts into free space until neither can proceed. */
function pumpQueue(queue: QueueState, context: OpContext): void {
  for (;;) {
    if (queue.items.length > 0 && queue.getters.size > 0) {
      const getter = queue.getters.shift()!;
      if (getter.session.isOpen) {
        const item = queue.items.peekFirst();
        context.emit(['qshift', queue.name]);
        getter.grant(item);
      }
      continue;
    }
    if (!isFull(queue) && queue.putters.size > 0) {
      const putter = queue.putters.shift()!;
      if (!putter.session.isOpen) continue;
      const { item } = putter.data as { item: unknown };
      context.emit(['qpush', queue.name, item]);
      putter.grant(null);
      continue;
    }
    return;
  }
}

function applyQueue(queue: QueueState, effect: AnyEffect, undoable: boolean): AnyEffect | undefined {
  const name = queue.name;
  switch (effect[0]) {
    case 'qpush':
      queue.items.push(effect[2]);
      queue.unfinished += 1;
      return undoable ? ['qunpush', name] : undefined;
    case 'qshift': {
      if (queue.items.length === 0) throw new ReplayError(`queue ${JSON.stringify(name)} is empty: nothing to take`);
      const item = queue.items.shift();
      return undoable ? ['qunshift', name, item] : undefined;
    }
    case 'qdone':
      if (queue.unfinished <= 0) throw new ReplayError(`queue ${JSON.stringify(name)} has no unfinished task`);
      queue.unfinished -= 1;
      return undoable ? ['qundone', name] : undefined;
    // The inverses, never published.
    case 'qunpush':
      queue.items.pop();
      queue.unfinished -= 1;
      return undefined;
    case 'qunshift':
      queue.items.unshift(effect[2]);
      return undefined;
    case 'qundone':
      queue.unfinished += 1;
      return undefined;
    default:
      throw unknownEffect('queue', effect);
  }
}

function empty(queue: QueueState, timedOut: boolean): OperationError {
  return new OperationError('QUEUE_EMPTY', `queue ${JSON.stringify(queue.name)} is empty${timedOut ? ' (timed out)' : ''}`, { name: queue.name });
}

function full(queue: QueueState, timedOut: boolean): OperationError {
  return new OperationError('QUEUE_FULL', `queue ${JSON.stringify(queue.name)} is full${timedOut ? ' (timed out)' : ''}`, { name: queue.name });
}

function put(queue: QueueState, item: unknown, timeout: number | null, context: OpContext): unknown {
  if (!isFull(queue) && queue.putters.size === 0) {
    context.emit(['qpush', queue.name, item]);
    context.defer(() => pumpQueue(queue, context));
    return null;
  }
  if (timeout === 0) throw full(queue, false);
  return context.wait(queue.putters, { timeout, data: { item }, onTimeout: () => { throw full(queue, true); } });
}

function get(queue: QueueState, timeout: number | null, context: OpContext): unknown {
  if (queue.items.length > 0 && queue.getters.size === 0) {
    const item = queue.items.peekFirst();
    context.emit(['qshift', queue.name]);
    context.defer(() => pumpQueue(queue, context));
    return item;
  }
  if (timeout === 0) throw empty(queue, false);
  return context.wait(queue.getters, { timeout, onTimeout: () => { throw empty(queue, true); } });
}

export const queueType: ObjectType<QueueState> = {
  name: 'queue',
  create: (init, name) => ({
    name,
    maxsize: readMaxsize(init),
    items: new Deque(),
    getters: new WaitQueue(),
    putters: new WaitQueue(),
    joiners: new WaitQueue(),
    unfinished: 0,
  }),
  apply: applyQueue,
  capture: (queue) => {
    const items = queue.items.toArray();
    return {
      init: queue.maxsize === 0 ? null : { maxsize: queue.maxsize },
      meta: { unfinished: queue.unfinished },
      items: { count: items.length, slice: (start, end) => items.slice(start, end) },
    };
  },
  fill: (queue, meta, items) => {
    for (const item of items ?? []) queue.items.push(item);
    if (meta !== undefined && meta !== null) queue.unfinished = safeCount(metaField(meta, 'unfinished'), 'queue meta.unfinished');
  },
  growingOps: new Set(['put', 'putNowait']),
  freeingOps: new Set(['get', 'getNowait']),
  checkInit: (queue, init, name) => {
    if (init !== undefined && readMaxsize(init) !== queue.maxsize) {
      throw new OperationError('INVALID_ARGUMENT', `queue ${JSON.stringify(name)} already exists with maxsize ${queue.maxsize}`);
    }
  },
  ops: opsTable<QueueState>({
    /** put(item, timeout?) → null; blocks while full; QUEUE_FULL on timeout. */
    put(queue, args, context) {
      checkArity(args, 1, 2, 'put(item, timeout?)');
      return put(queue, args[0], timeoutArg(args[1], 'put(item, timeout?)'), context);
    },

    /** putNowait(item) → null, or QUEUE_FULL at once. */
    putNowait(queue, args, context) {
      checkArity(args, 1, 1, 'putNowait(item)');
      return put(queue, args[0], 0, context);
    },

    /** get(timeout?) → item; blocks while empty; QUEUE_EMPTY on timeout. */
    get(queue, args, context) {
      checkArity(args, 0, 1, 'get(timeout?)');
      return get(queue, timeoutArg(args[0], 'get(timeout?)'), context);
    },

    /** getNowait() → item, or QUEUE_EMPTY at once. */
    getNowait(queue, args, context) {
      checkArity(args, 0, 0, 'getNowait()');
      return get(queue, 0, context);
    },

    size(queue, args) {
      checkArity(args, 0, 0, 'size()');
      return queue.items.length;
    },

    empty(queue, args) {
      checkArity(args, 0, 0, 'empty()');
      return queue.items.length === 0;
    },

    full(queue, args) {
      checkArity(args, 0, 0, 'full()');
      return isFull(queue);
    },

    /** taskDone() → null: one item fully processed; OUT_OF_RANGE if called more than items put. */
    taskDone(queue, args, context) {
      checkArity(args, 0, 0, 'taskDone()');
      if (queue.unfinished <= 0) {
        throw new OperationError('OUT_OF_RANGE', `queue ${JSON.stringify(queue.name)}: taskDone() called more times than there were items`);
      }
      context.emit(['qdone', queue.name]);
      if (queue.unfinished === 0) context.defer(() => {
        for (const joiner of queue.joiners.drain()) joiner.grant(true);
      });
      return null;
    },

    /** join(timeout?) → true once every item put has been marked done; false on timeout. */
    join(queue, args, context) {
      checkArity(args, 0, 1, 'join(timeout?)');
      const timeout = timeoutArg(args[0], 'join(timeout?)');
      if (queue.unfinished === 0) return true;
      if (timeout === 0) return false;
      return context.wait(queue.joiners, { timeout, onTimeout: () => false });
    },

    /** state() → {size, maxsize, unfinished, getters, putters}. */
    state(queue, args) {
      checkArity(args, 0, 0, 'state()');
      return { size: queue.items.length, maxsize: queue.maxsize, unfinished: queue.unfinished, getters: queue.getters.size, putters: queue.putters.size };
    },
  }),
};
