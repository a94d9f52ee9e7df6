/**
 * Barrier, as `threading.Barrier`: `parties` callers meet; each gets its arrival index. A timeout,
 * abort() or reset() breaks waiting callers with BROKEN_BARRIER. A waiter whose session closes
 * gives its place back, so a replacement can arrive instead of everyone hanging.
 */
import { OperationError } from '../../errors.js';
import { checkArity } from '../args.js';
import { timeoutArg, WaitQueue } from '../waiting.js';
import { type ObjectType, type OpContext, opsTable } from '../object-type.js';

export interface BarrierState {
  readonly name: string;
  readonly parties: number;
  broken: boolean;
  readonly waiters: WaitQueue<number>;
}

function readParties(init: unknown): number {
  const parties = init !== null && typeof init === 'object' ? (init as { parties?: unknown }).parties : undefined;
  if (typeof parties !== 'number' || !Number.isSafeInteger(parties) || parties < 1) {
    throw new OperationError('INVALID_ARGUMENT', 'barrier: parties must be a whole number ≥ 1 (init: {"parties": n})');
  }
  return parties;
}

function broken(barrier: BarrierState, reason: string): OperationError {
  return new OperationError('BROKEN_BARRIER', `barrier ${JSON.stringify(barrier.name)} is broken (${reason})`, { name: barrier.name, reason });
}

/** Fails every waiter with BROKEN_BARRIER. */
function breakWaiters(barrier: BarrierState, reason: string): void {
  for (const waiter of barrier.waiters.drain()) waiter.fail(broken(barrier, reason));
}

function noBatch(context: OpContext, op: string): void {
  if (context.atomic) throw new OperationError('WOULD_BLOCK', `barrier.${op} cannot run inside an atomic batch`);
}

export const barrierType: ObjectType<BarrierState> = {
  name: 'barrier',
  create: (init, name) => ({ name, parties: readParties(init), broken: false, waiters: new WaitQueue() }),
  // Waiting parties and a broken state end with the sessions: only the barrier's size persists.
  capture: (barrier) => ({ init: { parties: barrier.parties }, meta: null }),
  checkInit: (barrier, init, name) => {
    if (init !== undefined && readParties(init) !== barrier.parties) {
      throw new OperationError('INVALID_ARGUMENT', `barrier ${JSON.stringify(name)} already exists with ${barrier.parties} parties`);
    }
  },
  ops: opsTable<BarrierState>({
    /** wait(timeout?) → arrival index 0..parties-1; BROKEN_BARRIER if broken or timed out. */
    wait(barrier, args, context) {
      checkArity(args, 0, 1, 'wait(timeout?)');
      const timeout = timeoutArg(args[0], 'wait(timeout?)');
      noBatch(context, 'wait');
      if (barrier.broken) throw broken(barrier, 'broken earlier; call reset()');
      const index = barrier.waiters.size;
      if (index === barrier.parties - 1) {
        let i = 0;
        for (const waiter of barrier.waiters.drain()) waiter.grant(i++);
        return index;
      }
      return context.wait(barrier.waiters, {
        timeout,
        onTimeout: () => {
          // As in Python, a timeout breaks the barrier for everyone.
          barrier.broken = true;
          breakWaiters(barrier, 'a party timed out');
          throw broken(barrier, 'timed out');
        },
      });
    },

    /** abort() → null: breaks the barrier; waiters and later arrivals get BROKEN_BARRIER. */
    abort(barrier, args, context) {
      checkArity(args, 0, 0, 'abort()');
      noBatch(context, 'abort');
      barrier.broken = true;
      breakWaiters(barrier, 'aborted');
      return null;
    },

    /** reset() → null: back to empty and unbroken; current waiters get BROKEN_BARRIER. */
    reset(barrier, args, context) {
      checkArity(args, 0, 0, 'reset()');
      noBatch(context, 'reset');
      breakWaiters(barrier, 'reset');
      barrier.broken = false;
      return null;
    },

    /** state() → {parties, waiting, broken}. */
    state(barrier, args) {
      checkArity(args, 0, 0, 'state()');
      return { parties: barrier.parties, waiting: barrier.waiters.size, broken: barrier.broken };
    },
  }),
};
