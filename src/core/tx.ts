/**
 * A transaction: the changes of one request (or of one whole atomic batch), made at once through
 * the objects' `apply` and published together at commit, or undone together at rollback. Changes
 * made outside requests (a lock handed to the next waiter when a session ends, a grant after an
 * await) go through a transaction too: after its commit, each further change of a transaction is
 * published on its own, so every change of state reaches the change stream.
 *
 * In memory mode with nobody subscribed, a transaction collects nothing: a change costs its effect
 * array and the `apply`.
 */
import { OperationError } from '../errors.js';
import type { AnyEffect } from './effects.js';
import type { OpContext } from './object-type.js';
import type { SharedObject, Store } from './store.js';
import { type SessionHandle, Waiter, type WaitOptions, type WaitQueue } from './waiting.js';

/** What a transaction undoes: an inverse effect, or a change of what a session holds. */
type UndoStep = AnyEffect | (() => void);

/** Bits of {@link Tx}'s one state field: fewer fields, as one Tx is made per request. */
const CHANGED = 1;
const COMMITTED = 2;
const UNDOABLE = 4;
const SILENT = 8;

export class Tx implements OpContext {
  /**
   * The object the running operation was called on (set by dispatch): its effects find their
   * object without a lookup by name.
   */
  target: SharedObject | undefined = undefined;
  private effects: AnyEffect[] | undefined = undefined;
  private undoSteps: UndoStep[] | undefined = undefined;
  private deferred: Array<() => void> | undefined = undefined;
  private flags: number;

  /**
   * @param undoable keep inverses even outside an atomic batch (a restore, which may fail half-way).
   * @param publishes false while loading a data directory: the changes are already in the log.
   */
  constructor(
    readonly store: Store,
    readonly session: SessionHandle,
    readonly requestId: unknown,
    readonly atomic: boolean,
    undoable = atomic,
    publishes = true,
  ) {
    this.flags = (undoable ? UNDOABLE : 0) | (publishes ? 0 : SILENT);
  }

  get sessionId(): number {
    return this.session.sessionId;
  }

  emit(effect: AnyEffect): void {
    const flags = this.flags;
    const inverse = this.store.apply(effect, (flags & (UNDOABLE | COMMITTED)) === UNDOABLE, this);
    if ((flags & SILENT) !== 0) return;
    const store = this.store;
    if ((flags & COMMITTED) !== 0) {
      store.commit(store.recordsEffects ? [effect] : undefined);
      return;
    }
    this.flags = flags | CHANGED;
    if (inverse !== undefined) this.pushUndo(inverse);
    if (store.recordsEffects) {
      // [effect] rather than [] and a push, which grows the new array to 17 slots.
      if (this.effects === undefined) this.effects = [effect];
      else this.effects.push(effect);
    }
  }

  undo(step: () => void): void {
    if (this.atomic) this.pushUndo(step);
  }

  defer(step: () => void): void {
    // After the commit (an operation deferring after an await, or queued behind a mutex) there is
    // nothing left to wait for: wake up at once.
    if ((this.flags & COMMITTED) !== 0) step();
    else if (this.deferred === undefined) this.deferred = [step];
    else this.deferred.push(step);
  }

  wait<T>(queue: WaitQueue<T>, options: WaitOptions): Promise<T> {
    if (this.atomic) throw new OperationError('WOULD_BLOCK', 'this operation would block, which an atomic batch cannot do');
    if (!this.session.isOpen) throw new OperationError('SHUTTING_DOWN', 'the session closed');
    return new Waiter(queue, this.session, this.requestId, options).promise;
  }

  stateOf(type: string, name: string): unknown {
    if (!this.atomic) return this.store.resolve(type, name, undefined, this).state;
    // An object another one names (a condition's shared lock) stays when an atomic batch rolls
    // back (docs/PROTOCOL.md, atomic): its creation commits at once, on its own.
    const own = this.store.begin(this.session, this.requestId);
    const state = this.store.resolve(type, name, undefined, own).state;
    own.commit();
    return state;
  }

  /**
   * Runs the deferred wake-ups (their changes join this transaction), then publishes the
   * transaction's changes as one revision. Returns whether there were wake-ups.
   */
  commit(): boolean {
    let woke = false;
    while (this.deferred !== undefined) {
      const steps = this.deferred;
      this.deferred = undefined;
      woke = true;
      for (const step of steps) step();
    }
    const flags = this.flags;
    this.flags = (flags & ~CHANGED) | COMMITTED;
    this.undoSteps = undefined;
    if ((flags & CHANGED) !== 0) {
      const effects = this.effects;
      this.effects = undefined;
      this.store.commit(effects);
    }
    return woke;
  }

  /** Undoes every change, newest first, forgets the wake-ups and publishes nothing. */
  rollback(): void {
    const steps = this.undoSteps;
    this.undoSteps = undefined;
    this.deferred = undefined;
    this.effects = undefined;
    this.flags = (this.flags & ~CHANGED) | COMMITTED;
    if (steps !== undefined) {
      for (let i = steps.length - 1; i >= 0; i--) {
        const step = steps[i]!;
        if (typeof step === 'function') step();
        else this.store.apply(step, false, this);
      }
    }
  }

  private pushUndo(step: UndoStep): void {
    if (this.undoSteps === undefined) this.undoSteps = [step];
    else this.undoSteps.push(step);
  }
}

/** The session of changes no client made (loading, restoring from a program): holds nothing. */
export const NO_SESSION: SessionHandle = {
  sessionId: 0,
  isOpen: false,
  hold: () => {},
  unhold: () => {},
  sendEvent: () => {},
  addWaiter: () => {},
  removeWaiter: () => {},
};
