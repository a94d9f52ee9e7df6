/**
 * Lock and RLock. Unlike CPython's (owned by a thread, and kept forever by a process that dies),
 * ownership here is per acquisition: each grant carries a random token that only its handle knows,
 * and a fencing number that strictly increases per lock. A grant is released by its token, or by
 * the server when the holder's session closes. Waiters are granted in FIFO order.
 */
import { randomBytes } from 'node:crypto';
import { OperationError } from '../../errors.js';
import { checkArity, stringArg } from '../args.js';
import { type AnyEffect, unknownEffect } from '../effects.js';
import { type Holding, type SessionHandle, timeoutArg, WaitQueue } from '../waiting.js';
import { metaField, type ObjectType, type OpContext, opsTable, safeCount } from '../object-type.js';

/** What acquire resolves with. */
export interface LockGrant {
  /** Proof of ownership: pass it to release (and, for an RLock, to re-enter). */
  token: string;
  /** Strictly increasing per lock, across holders: a resource can refuse an older fence. */
  fence: number;
  /** Current recursion depth (always 1 for a Lock). */
  depth: number;
}

interface Holder extends Holding {
  readonly token: string;
  readonly fence: number;
  readonly session: SessionHandle;
  depth: number;
}

export interface LockState {
  readonly name: string;
  readonly reentrant: boolean;
  holder: Holder | null;
  lastFence: number;
  readonly waiters: WaitQueue<LockGrant>;
  /**
   * Fences up to here are recorded as possibly handed out (`fence` effects, a block at a time), so
   * a restarted server never hands out a fence again. The holder and `lastFence` end with the
   * sessions and are not logged.
   */
  fenceReserved: number;
  /** The object name fences are recorded under (a condition's own lock: the condition's). */
  readonly objectName?: string;
}

/** Fences recorded at once: one log record per this many acquisitions of a lock. */
const FENCE_BLOCK = 1024;

/** Random bytes drawn in bulk: one syscall per 341 tokens instead of one per grant. */
let tokenPool = Buffer.alloc(0);
let tokenPoolOffset = 0;
const TOKEN_BYTES = 12;

/** An unguessable token for one acquisition (96 random bits, base64url). */
export function newToken(): string {
  if (tokenPoolOffset + TOKEN_BYTES > tokenPool.length) {
    tokenPool = randomBytes(TOKEN_BYTES * 341);
    tokenPoolOffset = 0;
  }
  const token = tokenPool.toString('base64url', tokenPoolOffset, tokenPoolOffset + TOKEN_BYTES);
  tokenPoolOffset += TOKEN_BYTES;
  return token;
}

export function createLock(name: string, reentrant: boolean, objectName = name): LockState {
  return { name, reentrant, holder: null, lastFence: 0, waiters: new WaitQueue(), fenceReserved: 0, objectName };
}

/**
 * Applies a lock's `fence` effect (or its inverse, `unfence`, never published). Live, the grant
 * that needs the reservation has already taken its fence past the old one; replayed (or loaded),
 * no grant did, and every fence up to the reservation counts as handed out.
 */
export function applyFence(lock: LockState, effect: AnyEffect, undoable: boolean, typeName: string): AnyEffect | undefined {
  switch (effect[0]) {
    case 'fence': {
      const upto = safeCount(effect[2], 'fence');
      const reserved = lock.fenceReserved;
      if (lock.lastFence <= reserved) lock.lastFence = Math.max(lock.lastFence, upto);
      lock.fenceReserved = Math.max(reserved, upto);
      return undoable ? ['unfence', effect[1], reserved] : undefined;
    }
    case 'unfence':
      lock.fenceReserved = effect[2] as number;
      return undefined;
    default:
      throw unknownEffect(typeName, effect);
  }
}

/** A lock's durable part: the highest fence that may have been handed out. */
export function fenceOf(lock: LockState): number {
  return Math.max(lock.lastFence, lock.fenceReserved);
}

/** Puts a captured fence back: no fence up to it is handed out again. */
export function fillFence(lock: LockState, meta: unknown, what: string): void {
  if (meta === undefined || meta === null) return;
  const fence = safeCount(metaField(meta, 'fence'), `${what} meta.fence`);
  lock.lastFence = Math.max(lock.lastFence, fence);
  lock.fenceReserved = Math.max(lock.fenceReserved, fence);
}

function grantInfo(holder: Holder): LockGrant {
  return { token: holder.token, fence: holder.fence, depth: holder.depth };
}

/**
 * Makes `session` the holder with a fresh token (or `token`, when a condition re-acquires).
 * `context` is the transaction that grants: the holder gives the lock on through it later.
 */
function grantTo(lock: LockState, session: SessionHandle, context: OpContext, token = newToken()): Holder {
  const holder: Holder = {
    token,
    fence: ++lock.lastFence,
    session,
    depth: 1,
    release: (reason) => {
      if (lock.holder !== holder) return;
      session.sendEvent('lock-lost', { name: lock.name, token: holder.token, fence: holder.fence, reason });
      releaseHolder(lock, holder);
      pumpLock(lock, context);
    },
  };
  lock.holder = holder;
  session.hold(holder);
  if (lock.lastFence > lock.fenceReserved) context.emit(['fence', lock.objectName!, lock.lastFence + FENCE_BLOCK - 1]);
  return holder;
}

function releaseHolder(lock: LockState, holder: Holder): void {
  lock.holder = null;
  holder.session.unhold(holder);
}

/** Grants the lock to the longest waiter whose session is still open. */
export function pumpLock(lock: LockState, context: OpContext): void {
  while (lock.holder === null) {
    const waiter = lock.waiters.shift();
    if (waiter === undefined) return;
    if (!waiter.session.isOpen) continue;
    const token = (waiter.data as { token?: string } | undefined)?.token;
    waiter.grant(grantInfo(grantTo(lock, waiter.session, context, token)));
  }
}

/**
 * Acquires for `context`'s session: at once if free and nobody queues, else waits in FIFO order.
 * `token` re-acquires under an existing token (Condition.wait does this).
 */
export function acquireLock(lock: LockState, timeout: number | null, context: OpContext, token?: string): LockGrant | Promise<LockGrant> {
  if (lock.holder === null && lock.waiters.size === 0) {
    const holder = grantTo(lock, context.session, context, token);
    if (context.atomic) context.undo(() => {
      releaseHolder(lock, holder);
      lock.lastFence -= 1;
    });
    return grantInfo(holder);
  }
  if (timeout === 0) throw timedOut(lock);
  return context.wait(lock.waiters, {
    timeout,
    onTimeout: () => {
      throw timedOut(lock);
    },
    data: token === undefined ? undefined : { token },
  });
}

function timedOut(lock: LockState): OperationError {
  return new OperationError('TIMEOUT', `lock ${JSON.stringify(lock.name)} was not acquired in time`, { name: lock.name });
}

/** The holder if `token` owns the lock, else NOT_OWNER. */
export function ownedHolder(lock: LockState, token: string, what: string): Holder {
  const holder = lock.holder;
  if (holder === null || holder.token !== token) {
    throw new OperationError(
      'NOT_OWNER',
      `${what}: this handle does not hold lock ${JSON.stringify(lock.name)}${holder === null ? ' (it is not held)' : ''}`,
      { name: lock.name },
    );
  }
  return holder;
}

/** Releases fully (whatever the depth) and wakes the next waiter after commit. */
export function releaseLockFully(lock: LockState, holder: Holder, context: OpContext): void {
  releaseHolder(lock, holder);
  if (context.atomic) context.undo(() => {
    lock.holder = holder;
    holder.session.hold(holder);
  });
  context.defer(() => pumpLock(lock, context));
}

function lockType(typeName: 'lock' | 'rlock'): ObjectType<LockState> {
  const reentrant = typeName === 'rlock';
  return {
    name: typeName,
    create: (_init, name) => createLock(name, reentrant),
    apply: (lock, effect, undoable) => applyFence(lock, effect, undoable, typeName),
    capture: (lock) => ({ init: null, meta: { fence: fenceOf(lock) } }),
    fill: (lock, meta) => fillFence(lock, meta, 'lock'),
    ops: opsTable<LockState>({
      /** acquire(timeout?, token?) → {token, fence, depth}; token re-enters an RLock. */
      acquire(lock, args, context) {
        const signature = 'acquire(timeout?, token?)';
        checkArity(args, 0, 2, signature);
        const timeout = timeoutArg(args[0], signature);
        if (args[1] !== undefined && args[1] !== null) {
          const token = stringArg(args, 1, 'token', signature);
          if (!reentrant) throw new OperationError('INVALID_ARGUMENT', 'a Lock cannot be re-entered: use an rlock');
          const holder = ownedHolder(lock, token, 'acquire');
          holder.depth += 1;
          if (context.atomic) context.undo(() => void (holder.depth -= 1));
          return grantInfo(holder);
        }
        return acquireLock(lock, timeout, context);
      },

      /** release(token) → remaining depth (0 when released). */
      release(lock, args, context) {
        checkArity(args, 1, 1, 'release(token)');
        const holder = ownedHolder(lock, stringArg(args, 0, 'token', 'release(token)'), 'release');
        if (holder.depth > 1) {
          holder.depth -= 1;
          if (context.atomic) context.undo(() => void (holder.depth += 1));
          return holder.depth;
        }
        releaseLockFully(lock, holder, context);
        return 0;
      },

      /** locked() → whether anyone holds it. */
      locked(lock, args) {
        checkArity(args, 0, 0, 'locked()');
        return lock.holder !== null;
      },

      /** owned(token) → whether `token` holds it now (a handle checks it still owns the lock). */
      owned(lock, args) {
        checkArity(args, 1, 1, 'owned(token)');
        return lock.holder?.token === stringArg(args, 0, 'token', 'owned(token)');
      },

      /** state() → {locked, fence, waiting}. */
      state(lock, args) {
        checkArity(args, 0, 0, 'state()');
        return { locked: lock.holder !== null, fence: lock.lastFence, waiting: lock.waiters.size };
      },
    }),
  };
}

export const lockTypes = { lock: lockType('lock'), rlock: lockType('rlock') };
