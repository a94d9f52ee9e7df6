/**
 * Semaphore and BoundedSemaphore. A permit taken by acquire is owned by that acquisition (a token)
 * and goes back when released with its token or when the holder's session closes. A release
 * without a token adds a permit, as CPython's `Semaphore.release()` does for signalling; a
 * BoundedSemaphore refuses to go above its initial value.
 */
import { OperationError } from '../../errors.js';
import { checkArity, stringArg } from '../args.js';
import { unknownEffect } from '../effects.js';
import { type Holding, type SessionHandle, timeoutArg, WaitQueue } from '../waiting.js';
import { newToken } from './lock.js';
import { metaField, type ObjectType, type OpContext, opsTable, safeCount } from '../object-type.js';

interface Permit extends Holding {
  readonly token: string;
  readonly session: SessionHandle;
}

export interface SemaphoreState {
  readonly name: string;
  readonly bounded: boolean;
  readonly initial: number;
  /**
   * Permits available now. Only a release without a token changes the capacity (`sadd`, durable);
   * a permit taken or given back by its holder moves between here and {@link permits}, which end
   * with the session and are not logged.
   */
  value: number;
  readonly permits: Map<string, Permit>;
  readonly waiters: WaitQueue<{ token: string }>;
}

function readInit(init: unknown, typeName: string): number {
  const value = init !== null && typeof init === 'object' ? (init as { value?: unknown }).value : undefined;
  if (value === undefined) return 1;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new OperationError('INVALID_ARGUMENT', `${typeName}: value must be a whole number ≥ 0`);
  }
  return value;
}

function takePermit(sem: SemaphoreState, session: SessionHandle): { token: string } {
  const token = newToken();
  const permit: Permit = {
    token,
    session,
    release: () => {
      if (!sem.permits.delete(token)) return;
      sem.value += 1;
      pumpSemaphore(sem);
    },
  };
  sem.value -= 1;
  sem.permits.set(token, permit);
  session.hold(permit);
  return { token };
}

function pumpSemaphore(sem: SemaphoreState): void {
  while (sem.value > 0) {
    const waiter = sem.waiters.shift();
    if (waiter === undefined) return;
    if (waiter.session.isOpen) waiter.grant(takePermit(sem, waiter.session));
  }
}

function checkBound(sem: SemaphoreState): void {
  // Permits out with a holder count as well: each comes back (by its token, or when its session
  // ends) and that return cannot be refused, so an anonymous release now would later take the
  // value above `initial`.
  if (sem.bounded && sem.value + sem.permits.size >= sem.initial) {
    throw new OperationError('OUT_OF_RANGE', `boundedSemaphore ${JSON.stringify(sem.name)} released too many times`);
  }
}

function semaphoreType(typeName: 'semaphore' | 'boundedSemaphore'): ObjectType<SemaphoreState> {
  return {
    name: typeName,
    create: (init, name) => {
      const initial = readInit(init, typeName);
      return { name, bounded: typeName === 'boundedSemaphore', initial, value: initial, permits: new Map(), waiters: new WaitQueue() };
    },
    apply: (sem, effect, undoable) => {
      switch (effect[0]) {
        case 'sadd':
          sem.value += 1;
          return undoable ? ['ssub', sem.name] : undefined;
        case 'ssub': // the inverse of sadd, never published
          sem.value -= 1;
          return undefined;
        default:
          throw unknownEffect(typeName, effect);
      }
    },
    // Held permits come back on a restart: what persists is the capacity.
    capture: (sem) => ({ init: { value: sem.initial }, meta: { value: sem.value + sem.permits.size } }),
    fill: (sem, meta) => {
      if (meta !== undefined && meta !== null) sem.value = safeCount(metaField(meta, 'value'), 'semaphore meta.value');
    },
    checkInit: (sem, init, name) => {
      if (init !== undefined && readInit(init, typeName) !== sem.initial) {
        throw new OperationError('INVALID_ARGUMENT', `${typeName} ${JSON.stringify(name)} already exists with value ${sem.initial}`);
      }
    },
    ops: opsTable<SemaphoreState>({
      /** acquire(timeout?) → {token}: FIFO; TIMEOUT when not granted in time. */
      acquire(sem, args, context: OpContext) {
        checkArity(args, 0, 1, 'acquire(timeout?)');
        const timeout = timeoutArg(args[0], 'acquire(timeout?)');
        if (sem.value > 0 && sem.waiters.size === 0) {
          const grant = takePermit(sem, context.session);
          if (context.atomic) context.undo(() => {
            const permit = sem.permits.get(grant.token)!;
            sem.permits.delete(grant.token);
            sem.value += 1;
            permit.session.unhold(permit);
          });
          return grant;
        }
        const timedOut = (): OperationError =>
          new OperationError('TIMEOUT', `${typeName} ${JSON.stringify(sem.name)} was not acquired in time`, { name: sem.name });
        if (timeout === 0) throw timedOut();
        return context.wait(sem.waiters, { timeout, onTimeout: () => { throw timedOut(); } });
      },

      /** release(token?) → null: gives back that permit, or (no token) adds one. */
      release(sem, args, context) {
        checkArity(args, 0, 1, 'release(token?)');
        if (args[0] === undefined || args[0] === null) {
          checkBound(sem);
          // Past 2^53 - 1 adding a permit rounds and the count silently stops counting. Permits out
          // count as well, as in checkBound: each comes back.
          if (sem.value + sem.permits.size >= Number.MAX_SAFE_INTEGER) {
            throw new OperationError('OUT_OF_RANGE', `${typeName} ${JSON.stringify(sem.name)} already has 2^53 - 1 permits available`);
          }
          // A permit given without a token is signalled capacity: it survives a restart.
          context.emit(['sadd', sem.name]);
        } else {
          const token = stringArg(args, 0, 'token', 'release(token?)');
          const permit = sem.permits.get(token);
          if (permit === undefined) {
            throw new OperationError('NOT_OWNER', `this handle holds no permit of ${typeName} ${JSON.stringify(sem.name)}`, { name: sem.name });
          }
          sem.permits.delete(token);
          sem.value += 1;
          permit.session.unhold(permit);
          if (context.atomic) context.undo(() => {
            sem.permits.set(token, permit);
            sem.value -= 1;
            permit.session.hold(permit);
          });
        }
        context.defer(() => pumpSemaphore(sem));
        return null;
      },

      /** value() → permits available now. */
      value(sem, args) {
        checkArity(args, 0, 0, 'value()');
        return sem.value;
      },

      /** state() → {value, initial, held, waiting}. */
      state(sem, args) {
        checkArity(args, 0, 0, 'state()');
        return { value: sem.value, initial: sem.initial, held: sem.permits.size, waiting: sem.waiters.size };
      },
    }),
  };
}

export const semaphoreTypes = { semaphore: semaphoreType('semaphore'), boundedSemaphore: semaphoreType('boundedSemaphore') };
