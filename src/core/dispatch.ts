/** Routes one request to an operation of a shared object. */
import { Mutex } from 'async-mutex';
import { OperationError } from '../errors.js';
import type { Request } from '../protocol/message.js';
import type { Store } from './store.js';
import type { Tx } from './tx.js';

/**
 * Runs `request.op` on the object it names and returns the result, or a Promise of it for
 * operations that await.
 *
 * Synchronous operations are atomic by construction: nothing else runs on the event loop while
 * they do. An operation that awaits part-way is not: at each await another request could read or
 * write the same object and see it half-changed. Those run under the object's async-mutex, and
 * while the mutex is held every other operation on the object queues behind it too, in arrival
 * order. Objects that never see an awaiting operation never get a mutex and pay nothing.
 * @throws OperationError UNKNOWN_TYPE, WRONG_TYPE, UNKNOWN_METHOD, OUT_OF_MEMORY, TOO_MANY_OBJECTS,
 *   or what the operation throws.
 */
export function dispatchObjectOp(registry: Store, request: Request, context: Tx): unknown {
  const name = request.name!;
  // The object, when it exists as this type, tells the type: one Map lookup fewer per request.
  const existing = registry.peek(name);
  const type = existing !== undefined && existing.type.name === request.type ? existing.type : registry.typeOf(request.type!);
  // Look the operation up before creating anything, so a misspelt call leaves no object behind.
  const operation = type.ops.get(request.op);
  if (operation === undefined) {
    if (existing !== undefined && existing.type !== type) registry.resolve(type.name, name); // throws WRONG_TYPE
    throw new OperationError(
      'UNKNOWN_METHOD',
      `a ${type.name} has no operation ${JSON.stringify(request.op)}; it has: ${[...type.ops.keys()].join(', ')}`,
    );
  }
  registry.limits?.check(type, request.op, existing === undefined, registry.size);
  const object =
    existing !== undefined && existing.type === type && request.init === undefined
      ? existing
      : registry.resolve(type.name, name, request.init, context);
  context.target = object;
  const awaits = type.awaitingOps?.has(request.op) === true;
  if (awaits || object.mutex?.isLocked()) {
    if (context.atomic) {
      throw new OperationError('WOULD_BLOCK', `${type.name}.${request.op} cannot run inside an atomic batch now: it would have to wait`);
    }
    object.mutex ??= new Mutex();
    return object.mutex.runExclusive(() => operation(object.state, request.args, context));
  }
  return operation(object.state, request.args, context);
}
