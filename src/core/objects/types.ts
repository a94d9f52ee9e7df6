/**
 * What a shared object type declares: how to make an instance and the table of operations a client
 * may call. Dispatch refuses any name not in `ops`, as CPython's manager refuses methods that are
 * not `exposed`.
 */
import type { Journal } from '../effects.js';
import type { SessionHandle, WaitOptions, WaitQueue } from '../waiting.js';

/** Lets a type reach another named object (a condition's lock), and the server's journal. */
export interface ObjectLookup {
  /** The state of object `name` of type `type`, created on first use. */
  stateOf(type: string, name: string): unknown;
  /**
   * Where a new object records its changes when the server persists them (--data-dir); undefined
   * in memory. A type keeps it in its state (see core/effects.ts).
   */
  readonly journal?: Journal | undefined;
}

/** The calling request, as an operation sees it. */
export interface OpContext {
  /** Unique id of the calling session (connection) on this server. */
  readonly sessionId: number;
  readonly session: SessionHandle;
  /** The request's id, as the client chose it (used to cancel a wait). */
  readonly requestId: unknown;
  /** True inside an atomic batch: nothing may block, and every change must be undoable. */
  readonly atomic: boolean;
  /** Records how to undo a change. Only kept inside atomic batches: guard calls with `atomic`. */
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
 * One operation. It validates `args` itself and throws OperationError for bad input. It must not
 * change state before it knows it will succeed, so a failed call leaves the object as it was. It
 * may return a Promise when it blocks (through `context.wait`).
 */
export type Operation<State> = (state: State, args: unknown[], context: OpContext) => unknown;

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
