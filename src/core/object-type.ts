/**
 * What a shared object type declares: how to make an instance, the table of operations a client
 * may call, how its changes are made (`apply`) and what of it survives a restart (`capture` and
 * `fill`). Dispatch refuses any name not in `ops`, as CPython's manager refuses methods that are
 * not `exposed`. Persistence knows nothing of any type: it asks the type.
 */
import { type AnyEffect, ReplayError } from './effects.js';
import type { SessionHandle, WaitOptions, WaitQueue } from './waiting.js';

/** Lets a type reach another named object (a condition's lock). */
export interface ObjectLookup {
  /** The state of object `name` of type `type`, created on first use (in the same transaction). */
  stateOf(type: string, name: string): unknown;
}

/** The calling request, as an operation sees it: its transaction (tx.ts). */
export interface OpContext extends ObjectLookup {
  /** Unique id of the calling session (connection) on this server. */
  readonly sessionId: number;
  readonly session: SessionHandle;
  /** The request's id, as the client chose it (used to cancel a wait). */
  readonly requestId: unknown;
  /** True inside an atomic batch: nothing may block, and every change must be undoable. */
  readonly atomic: boolean;
  /**
   * Makes one change of durable state: applies it at once through its object type's `apply` and
   * publishes it with the rest of the transaction at commit (nothing, if it rolls back).
   */
  emit(effect: AnyEffect): void;
  /**
   * Records how to undo a change that is not an effect: what a session holds (a lock's holder, a
   * semaphore's permits), which ends with the session and is never logged. Only kept inside atomic
   * batches: guard calls with `atomic`.
   */
  undo(step: () => void): void;
  /**
   * Runs `step` once the operation (or the whole batch) has committed. Wake-ups of other clients'
   * waiters go here, so a batch that fails half-way has woken nobody.
   */
  defer(step: () => void): void;
  /** Blocks this request in `queue`; in an atomic batch throws WOULD_BLOCK instead. */
  wait<T>(queue: WaitQueue<T>, options: WaitOptions): Promise<T>;
}

/**
 * One operation. It validates `args` itself and throws OperationError for bad input. It never
 * changes durable state itself: it emits effects (`context.emit`) once it knows it will succeed,
 * so a failed call leaves the object as it was. It may return a Promise when it blocks (through
 * `context.wait`).
 */
export type Operation<State> = (state: State, args: unknown[], context: OpContext) => unknown;

/** Bulk contents captured at one instant: copied shallowly, turned into JSON later in slices. */
export interface CapturedItems {
  readonly count: number;
  /** Items `start` to `end - 1`, as `fill` takes them back. */
  slice(start: number, end: number): unknown[];
}

/** What of an object survives a restart, as plain JSON (items aside). */
export interface CapturedState {
  /** Creation parameters, as a request's `init` (null: none). */
  readonly init: Record<string, unknown> | null;
  /** Small state besides the items (event flag, queue's unfinished count, lock fence...), or null. */
  readonly meta: unknown;
  /** Bulk contents; absent for types that have none. */
  readonly items?: CapturedItems;
}

export interface ObjectType<State = unknown> {
  /** The `type` clients name in requests, e.g. `dict`. */
  readonly name: string;
  /**
   * Makes a new instance. `init` is the request's `init` field (e.g. `{"value": 3}` for a
   * semaphore), undefined when absent. Throws INVALID_ARGUMENT on a bad one.
   */
  create(init: unknown, name: string, objects: ObjectLookup): State;
  /**
   * Checks a later request's `init` against an existing instance, so `barrier("b", 3)` does not
   * silently join a barrier of 4. Absent: `init` is ignored for existing instances.
   */
  checkInit?(state: State, init: unknown, name: string): void;
  readonly ops: ReadonlyMap<string, Operation<State>>;
  /**
   * The only code that changes the durable state of an instance: makes `effect` (one of the kinds
   * this type emits, or `fill`'s contents) and, when `undoable`, returns the effect that undoes it
   * (which may be of a kind only this type knows and never published, e.g. "put key k back at
   * position p"). Live changes, the log's replay and a rollback all come through here.
   * @throws ReplayError when the effect does not fit the state (a damaged log).
   */
  apply?(state: State, effect: AnyEffect, undoable: boolean): AnyEffect | undefined;
  /** What survives a restart. Absent: the object's existence (and `init`) only. */
  capture?(state: State): CapturedState;
  /**
   * Puts captured contents back into a fresh instance: `meta` when not undefined, `items` appended.
   * @throws ReplayError when they do not fit the type.
   */
  fill?(state: State, meta: unknown, items: readonly unknown[] | null): void;
  /**
   * Operations that await part-way (return a Promise while holding the object half-changed). Each
   * runs under the object's mutex; see dispatch.ts. Blocking waits are not listed here: they
   * change nothing while they wait.
   */
  readonly awaitingOps?: ReadonlySet<string>;
  /** Operations that may store more data: refused while the server is over `--max-memory`. */
  readonly growingOps?: ReadonlySet<string>;
  /** Operations that may free stored data: while over `--max-memory`, memory use is read again. */
  readonly freeingOps?: ReadonlySet<string>;
}

/** Builds an ops table from an object literal (a Map, so `__proto__` or `toString` never resolve). */
export function opsTable<State>(ops: Record<string, Operation<State>>): ReadonlyMap<string, Operation<State>> {
  return new Map(Object.entries(ops));
}

/** Reads field `key` of a captured `meta` object (undefined when absent or not an object). */
export function metaField(meta: unknown, key: string): unknown {
  return meta !== null && typeof meta === 'object' ? (meta as Record<string, unknown>)[key] : undefined;
}

/** Reads a count in captured `meta`. @throws ReplayError unless a whole number ≥ 0. */
export function safeCount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw new ReplayError(`${what} must be a whole number ≥ 0`);
  return value;
}
