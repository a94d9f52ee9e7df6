/**
 * What a shared object type declares: how to make an empty instance and the table of operations a
 * client may call. Dispatch refuses any name not in `ops`, as CPython's manager refuses methods that
 * are not `exposed`.
 */

/** Who is calling: lets ownership-aware types (locks) tell sessions apart. */
export interface OpContext {
  /** Unique id of the calling session (connection) on this server. */
  readonly sessionId: number;
}

/**
 * One operation. It validates `args` itself and throws OperationError for bad input. It must not
 * change state before it knows it will succeed, so a failed call leaves the object as it was.
 */
export type Operation<State> = (state: State, args: unknown[], context: OpContext) => unknown;

export interface ObjectType<State = unknown> {
  /** The `type` clients name in requests, e.g. `dict`. */
  readonly name: string;
  create(): State;
  readonly ops: ReadonlyMap<string, Operation<State>>;
  /**
   * Operations that await part-way (return a Promise). Each runs under the object's mutex, and
   * while one runs every other operation on that object queues behind it; see dispatch.ts.
   */
  readonly awaitingOps?: ReadonlySet<string>;
}

/** Builds an ops table from an object literal (a Map, so `__proto__` or `toString` never resolve). */
export function opsTable<State>(ops: Record<string, Operation<State>>): ReadonlyMap<string, Operation<State>> {
  return new Map(Object.entries(ops));
}
