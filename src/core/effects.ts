/**
 * The changes of state: each one an EFFECT (the change itself, e.g. "key k is now 8"), never the
 * request that caused it (`incr k`). An operation emits effects through its transaction (tx.ts);
 * its object type's `apply` makes them, and is the only code that changes the durable state. They
 * replay deterministically, and they also cover changes made outside any request, such as a queue
 * handing an item to a blocked getter. Committed effects go out on the change stream
 * (change-stream.ts); persistence writes them to the log (docs/PERSISTENCE.md), in this JSON form.
 */
import { ReplayError } from '../errors.js';

// Thrown when a change does not apply: the log or snapshot is damaged (errors.ts).
export { ReplayError };

/** Anything that can be stored: a JSON value as a request delivered it (never mutated afterwards). */
type Json = unknown;

/**
 * One change, as a JSON array whose first element names it. Names are short: every one is written
 * to the log. `name` is always the object's registry name.
 */
export type Effect =
  /** An object was created (by first use) with this `init`. */
  | readonly ['create', type: string, name: string, init: Json]
  /** dict: `key` now holds `value`. */
  | readonly ['dset', name: string, key: string, value: Json]
  /** dict: `key` is gone. */
  | readonly ['ddel', name: string, key: string]
  /** dict: emptied. */
  | readonly ['dclear', name: string]
  /** list: `list.splice(start, deleteCount, ...items)`. */
  | readonly ['lsplice', name: string, start: number, deleteCount: number, items: readonly Json[]]
  /** queue: `item` appended; one more unfinished task. */
  | readonly ['qpush', name: string, item: Json]
  /** queue: the first item was taken. */
  | readonly ['qshift', name: string]
  /** queue: one task marked done. */
  | readonly ['qdone', name: string]
  /** event: the flag is now `flag`. */
  | readonly ['event', name: string, flag: boolean]
  /** semaphore: one permit added by a release without a token (signalling). */
  | readonly ['sadd', name: string]
  /** lock, rlock or condition: fences up to `upto` may have been handed out; never reuse them. */
  | readonly ['fence', name: string, upto: number]
  /** Contents for an object created just before (restore): see persistence/state.ts. */
  | readonly ['fill', name: string, meta: Json, items: readonly Json[] | null];

/**
 * Any effect, of a built-in type or of a type a program registers: its kind first, then (except
 * `create`) the name of the object it changes. Kinds are short: each is written to the log.
 */
export type AnyEffect = readonly [kind: string, ...rest: unknown[]];


/**
 * What the request machinery needs of a persisting server beyond the change stream it subscribes
 * to: whether an answer must wait for the disk.
 */
export interface RequestJournal {
  /** True when answers may have to wait for the disk (fsync `always`): {@link whenDurable} is needed. */
  readonly holdsAnswers: boolean;
  /**
   * Under the `always` fsync policy, queues `send` until everything appended so far is on disk and
   * returns true; returns false when nothing needs waiting for (send at once). A response therefore
   * never shows a change that a crash could still undo.
   */
  whenDurable(send: () => void): boolean;
}

/** The error of an effect that a type does not make: a damaged log, or a log of another program. */
export function unknownEffect(typeName: string, effect: AnyEffect): ReplayError {
  return new ReplayError(`${JSON.stringify(effect[1])} is a ${typeName}, which has no change ${JSON.stringify(effect[0])}`);
}
