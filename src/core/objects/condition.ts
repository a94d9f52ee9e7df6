/**
 * Condition, as `threading.Condition`, over a server-side lock: its own, or the named `lock` given
 * at creation (`init: {"lock": "name"}`), so a Lock handle and the condition guard the same
 * critical section. Ownership is the lock grant's token.
 */
import { OperationError } from '../../errors.js';
import { checkArity, stringArg } from '../args.js';
import { timeoutArg, WaitQueue } from '../waiting.js';
import { acquireLock, applyFence, createLock, fenceOf, fillFence, type LockGrant, type LockState, ownedHolder, releaseLockFully } from './lock.js';
import { type ObjectType, type OpContext, opsTable } from '../object-type.js';

export interface ConditionState {
  readonly name: string;
  readonly lock: LockState;
  /** Name of the shared lock, or null when the condition has its own. */
  readonly lockName: string | null;
  readonly waiters: WaitQueue<boolean>;
}

function readLockName(init: unknown): string | null {
  const lock = init !== null && typeof init === 'object' ? (init as { lock?: unknown }).lock : undefined;
  if (lock === undefined || lock === null) return null;
  if (typeof lock !== 'string' || lock.length === 0) throw new OperationError('INVALID_ARGUMENT', 'condition: lock must be a lock name');
  return lock;
}

function tokenOf(args: unknown[], signature: string): string {
  return stringArg(args, 0, 'token', signature);
}

/** Wait: release the lock, block until notified or timed out, then re-acquire it (as Python). */
async function waitAndReacquire(cond: ConditionState, token: string, depth: number, timeout: number | null, context: OpContext) {
  let notified = false;
  let cancelled: OperationError | undefined;
  try {
    notified = await context.wait(cond.waiters, { timeout, onTimeout: () => false });
  } catch (err) {
    // Cancelled by the client (AbortSignal): hold the lock again before answering ABORTED, as
    // after a timeout and as Python's wait does however it ends, so the handle still owns the
    // lock it believes it owns (withLock's release must not fail with NOT_OWNER). A dropped wait
    // (SHUTTING_DOWN) is not re-acquired: that session holds nothing any more.
    if (!(err instanceof OperationError && err.code === 'ABORTED')) throw err;
    cancelled = err;
  }
  // The session may have ended while this waited for its turn: never grant to it.
  if (!context.session.isOpen) throw new OperationError('SHUTTING_DOWN', 'the session ended');
  const grant = await acquireLock(cond.lock, null, context, token);
  if (depth > 1 && cond.lock.holder !== null) cond.lock.holder.depth = depth;
  if (cancelled !== undefined) throw cancelled;
  return { notified, fence: grant.fence, depth } as const;
}

function notify(cond: ConditionState, count: number, context: OpContext): number {
  const woken = Math.min(count, cond.waiters.size);
  context.defer(() => {
    for (let i = 0; i < woken; i++) cond.waiters.shift()?.grant(true);
  });
  return woken;
}

export const conditionType: ObjectType<ConditionState> = {
  name: 'condition',
  create: (init, name, objects) => {
    const lockName = readLockName(init);
    if (lockName === null) {
      return { name, lock: createLock(`${name} (condition lock)`, false, name), lockName, waiters: new WaitQueue() };
    }
    // Created with the name the condition is about to take, the lock would be replaced by it in
    // memory while the log still creates both: the data directory would no longer load.
    if (lockName === name) {
      throw new OperationError('INVALID_ARGUMENT', `condition ${JSON.stringify(name)} cannot be its own lock: name another lock, or none for a lock of its own`);
    }
    let lock: LockState;
    try {
      lock = objects.stateOf('lock', lockName) as LockState;
    } catch (err) {
      if (!(err instanceof OperationError && err.code === 'WRONG_TYPE')) throw err;
      throw new OperationError(
        'WRONG_TYPE',
        `condition ${JSON.stringify(name)}: its lock ${JSON.stringify(lockName)} is a ${(err.details as { type?: string } | undefined)?.type ?? 'other type'}, not a lock; ` +
          'name a lock, or none for a lock of its own',
        err.details,
      );
    }
    return { name, lock, lockName, waiters: new WaitQueue() };
  },
  // A condition's own lock records its fences under the condition's name; a shared lock under its own.
  apply: (cond, effect, undoable) => applyFence(cond.lock, effect, undoable, 'condition'),
  capture: (cond) =>
    cond.lockName !== null ? { init: { lock: cond.lockName }, meta: null } : { init: null, meta: { fence: fenceOf(cond.lock) } },
  fill: (cond, meta) => {
    if (cond.lockName === null) fillFence(cond.lock, meta, 'condition');
  },
  checkInit: (cond, init, name) => {
    if (init !== undefined && readLockName(init) !== cond.lockName) {
      throw new OperationError('INVALID_ARGUMENT', `condition ${JSON.stringify(name)} already exists with lock ${JSON.stringify(cond.lockName)}`);
    }
  },
  ops: opsTable<ConditionState>({
    /** acquire(timeout?) → {token, fence, depth}: acquires the underlying lock. */
    acquire(cond, args, context): LockGrant | Promise<LockGrant> {
      checkArity(args, 0, 1, 'acquire(timeout?)');
      return acquireLock(cond.lock, timeoutArg(args[0], 'acquire(timeout?)'), context);
    },

    /** release(token) → 0. */
    release(cond, args, context) {
      checkArity(args, 1, 1, 'release(token)');
      releaseLockFully(cond.lock, ownedHolder(cond.lock, tokenOf(args, 'release(token)'), 'release'), context);
      return 0;
    },

    /**
     * wait(token, timeout?) → {notified, fence}: the caller must hold the lock; it is released while
     * waiting and held again (same token, new fence) when this resolves, even after a timeout.
     */
    wait(cond, args, context) {
      const signature = 'wait(token, timeout?)';
      checkArity(args, 1, 2, signature);
      const token = tokenOf(args, signature);
      const timeout = timeoutArg(args[1], signature);
      if (context.atomic) throw new OperationError('WOULD_BLOCK', 'condition.wait cannot run inside an atomic batch');
      const holder = ownedHolder(cond.lock, token, 'wait');
      const depth = holder.depth;
      releaseLockFully(cond.lock, holder, context);
      return waitAndReacquire(cond, token, depth, timeout, context);
    },

    /** notify(token, n = 1) → how many waiters were woken. The caller must hold the lock. */
    notify(cond, args, context) {
      const signature = 'notify(token, n?)';
      checkArity(args, 1, 2, signature);
      ownedHolder(cond.lock, tokenOf(args, signature), 'notify');
      const n = args[1] ?? 1;
      if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0) {
        throw new OperationError('INVALID_ARGUMENT', `${signature}: n must be a whole number ≥ 0`);
      }
      return notify(cond, n, context);
    },

    /** notifyAll(token) → how many waiters were woken. */
    notifyAll(cond, args, context) {
      checkArity(args, 1, 1, 'notifyAll(token)');
      ownedHolder(cond.lock, tokenOf(args, 'notifyAll(token)'), 'notifyAll');
      return notify(cond, cond.waiters.size, context);
    },

    /** owned(token) → whether `token` holds the lock now. */
    owned(cond, args) {
      checkArity(args, 1, 1, 'owned(token)');
      return cond.lock.holder?.token === tokenOf(args, 'owned(token)');
    },

    /** state() → {locked, waiting}. */
    state(cond, args) {
      checkArity(args, 0, 0, 'state()');
      return { locked: cond.lock.holder !== null, waiting: cond.waiters.size };
    },
  }),
};
