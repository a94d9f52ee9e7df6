/**
 * What shared objects tell the persistence layer: each change to persisted state, as an EFFECT
 * (the change itself, e.g. "key k is now 8"), never the request that caused it (`incr k`). Effects
 * replay deterministically, and they also cover changes made outside any request, such as a queue
 * handing an item to a blocked getter. docs/PERSISTENCE.md describes the log they end up in.
 *
 * Objects reach the journal through their state (`state.journal`, set at creation from
 * {@link ObjectLookup.journal}); it is undefined when the server runs in memory, so the cost of
 * journaling there is one property check per change.
 */

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

/** Where objects record their changes. */
export interface Journal {
  /** Records one change, made in memory just before. */
  add(effect: Effect): void;
}

/**
 * The journal as the request machinery drives it (session.ts). The effects of one request, or of
 * one whole atomic batch, go into ONE log record (with those of other whole requests made while
 * it waits for its write), so a batch is all-or-nothing on replay too.
 */
export interface RequestJournal extends Journal {
  /** Starts grouping: effects until the matching {@link end} go into one record together. */
  begin(): void;
  /** Ends the group and journals it (nothing when it is empty). */
  end(): void;
  /** Drops the open group's effects: an atomic batch was rolled back in memory. */
  discard(): void;
  /** True when answers may have to wait for the disk (fsync `always`): {@link whenDurable} is needed. */
  readonly holdsAnswers: boolean;
  /**
   * Under the `always` fsync policy, queues `send` until everything appended so far is on disk and
   * returns true; returns false when nothing needs waiting for (send at once). A response therefore
   * never shows a change that a crash could still undo.
   */
  whenDurable(send: () => void): boolean;
}
