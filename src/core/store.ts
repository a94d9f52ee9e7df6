/**
 * Where the named objects live, as dispatch, the front ends and persistence see it. The
 * in-memory store (memory-store.ts) is the one there is. A store replicated through a shared log
 * (etcd) would implement the same interface: `recordsEffects` always true, `commit` appending the
 * transaction's effects to the log (and the answer waiting for that append, as it waits for the
 * disk under fsync `always`), and the changes other servers committed, read back from the log,
 * applied with `replay` and published on `changes`. Object types and front ends stay as they are:
 * they only ever see `resolve`, `begin` and the transaction.
 */
import type { ChangeStream } from './change-stream.js';
import type { AnyEffect } from './effects.js';
import type { ObjectType } from './object-type.js';
import type { Tx } from './tx.js';
import type { SessionHandle } from './waiting.js';
import type { Mutex } from 'async-mutex';

export interface SharedObject {
  readonly name: string;
  readonly type: ObjectType<any>;
  readonly state: unknown;
  /** Created on the first awaiting operation; see dispatch.ts. */
  mutex?: Mutex;
}

/**
 * What a server with `--max-memory` or `--max-objects` checks before an operation runs
 * (server/storage-limits.ts implements it: reading memory use is I/O the core does not do).
 */
export interface AdmissionLimits {
  /** @throws OperationError OUT_OF_MEMORY or TOO_MANY_OBJECTS when `op` must be refused now. */
  check(type: ObjectType<any>, op: string, creating: boolean, objectCount: number): void;
  readonly memory?: { readonly over: boolean } | undefined;
}

export interface Store {
  /** Every committed transaction, in order. */
  readonly changes: ChangeStream;
  /** Checked by dispatch before an operation runs, not by replay. */
  limits: AdmissionLimits | undefined;
  /** Number of named objects. */
  readonly size: number;
  /** Makes `type` available to requests, the log's replay and restores. */
  register(type: ObjectType<any>): void;
  /** The type named `typeName`. @throws OperationError UNKNOWN_TYPE. */
  typeOf(typeName: string): ObjectType<any>;
  /** The object named `name`, if it exists; creates nothing. */
  peek(name: string): SharedObject | undefined;
  /** Every object by name, in creation order (a condition after the lock it shares). */
  entries(): IterableIterator<[string, SharedObject]>;
  /**
   * The object `name` of type `typeName`, created on first use from `init` by a `create` effect
   * of `tx` (without one, by a transaction that publishes nothing: loading).
   * @throws OperationError UNKNOWN_TYPE; WRONG_TYPE when `name` holds another type;
   *   INVALID_ARGUMENT when `init` is invalid or contradicts the existing object.
   */
  resolve(typeName: string, name: string, init?: unknown, tx?: Tx): SharedObject;
  /**
   * Opens a transaction for `session`'s request `requestId`.
   * @param undoable keep inverses outside an atomic batch too (see {@link Tx}).
   */
  begin(session?: SessionHandle, requestId?: unknown, atomic?: boolean, undoable?: boolean): Tx;
  /**
   * Makes one change (the store's own `create` and `drop`, or one routed to the object's type);
   * returns its inverse when `undoable`. Only transactions call it.
   * @throws ReplayError when the effect does not fit the state.
   */
  apply(effect: AnyEffect, undoable: boolean, tx: Tx): AnyEffect | undefined;
  /**
   * Whether transactions must collect their effects for {@link commit}: in memory, only while the
   * change stream has listeners.
   */
  readonly recordsEffects: boolean;
  /**
   * Commits a transaction whose changes are made: its effects (undefined when not recorded) become
   * the next revision. The in-memory store publishes them on {@link changes} at once.
   */
  commit(effects: readonly AnyEffect[] | undefined): void;
  /**
   * Makes a change that is already recorded (the log being loaded) without publishing it.
   * @throws ReplayError when it does not fit the state: the log is damaged.
   */
  replay(effect: AnyEffect): void;
}
