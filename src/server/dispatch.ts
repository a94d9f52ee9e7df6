/** Routes one request to an operation of a shared object. */
import { Mutex } from 'async-mutex';
import { OperationError } from '../errors.js';
import type { Request } from '../protocol/message.js';
import type { OpContext } from './objects/types.js';
import type { Registry } from './registry.js';

/**
 * Runs `request.op` on the object it names and returns the result, or a Promise of it for
 * operations that await.
 *
 * Synchronous operations are atomic by construction: nothing else runs on the event loop while
 * they do. An operation that awaits part-way is not: at each await another request could read or
 * write the same object and see it half-changed. Those run under the object's async-mutex, and
 * while the mutex is held every other operation on the object queues behind it too, in arrival
 * order. Objects that never see an awaiting operation never get a mutex and pay nothing.
 * @throws OperationError UNKNOWN_TYPE, WRONG_TYPE, UNKNOWN_METHOD, or what the operation throws.
 */
export function dispatchObjectOp(registry: Registry, request: Request, context: OpContext): unknown {
  const name = request.name!;
  // Look the operation up before creating anything, so a misspelt call leaves no object behind.
  const type = registry.typeOf(request.type!);
  if (!type.ops.has(request.op)) {
    const existing = registry.peek(name);
    if (existing !== undefined && existing.type !== type) registry.resolve(type.name, name); // throws WRONG_TYPE
    throw new OperationError(
      'UNKNOWN_METHOD',
      `a ${type.name} has no operation ${JSON.stringify(request.op)}; it has: ${[...type.ops.keys()].join(', ')}`,
    );
  }
  const object = registry.resolve(
    request.type!,
    name,
    request.init,
    context.atomic ? () => context.undo(() => registry.delete(name)) : undefined,
  );
  const operation = object.type.ops.get(request.op)!;
  const awaits = object.type.awaitingOps?.has(request.op) === true;
  if (awaits || object.mutex?.isLocked()) {
    if (context.atomic) {
      throw new OperationError('WOULD_BLOCK', `${object.type.name}.${request.op} cannot run inside an atomic batch now: it would have to wait`);
    }
    object.mutex ??= new Mutex();
    return object.mutex.runExclusive(() => operation(object.state, request.args, context));
  }
  return operation(object.state, request.args, context);
}
