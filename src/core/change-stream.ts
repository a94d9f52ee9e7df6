/**
 * Every committed transaction, published once, in commit order, with a server-wide revision
 * number (one per committed transaction that changed something, as etcd's), to whoever subscribed:
 * persistence writes them to the log; watch, a web view or replication would read them too.
 *
 * Listeners run synchronously at commit, before the request's answer is written, so a listener
 * sees the changes in the order clients could observe them. A listener must not throw and must
 * not keep the array past the call if it mutates it (it never should: effects are shared).
 * With no listener a commit costs a counter increment: transactions do not even collect their
 * effects (see {@link ChangeStream.active}).
 */
import type { AnyEffect } from './effects.js';

/** Called with each committed transaction's effects, in order. */
export type ChangeListener = (revision: number, effects: readonly AnyEffect[]) => void;

export class ChangeStream {
  private listeners: ChangeListener[] = [];
  private last = 0;

  /** The revision of the last committed change (0 before any). */
  get revision(): number {
    return this.last;
  }

  /** True while someone listens: transactions collect their effects only then. */
  get active(): boolean {
    return this.listeners.length > 0;
  }

  /** Calls `listener` with every change committed from now on. Returns the unsubscribe function. */
  subscribe(listener: ChangeListener): () => void {
    this.listeners = [...this.listeners, listener];
    return () => {
      this.listeners = this.listeners.filter((other) => other !== listener);
    };
  }

  /**
   * Takes the next revision for a committed transaction and hands its effects (undefined when
   * nobody listened while it ran) to the listeners.
   */
  publish(effects: readonly AnyEffect[] | undefined): number {
    const revision = ++this.last;
    if (effects !== undefined && effects.length > 0) {
      for (const listener of this.listeners) listener(revision, effects);
    }
    return revision;
  }
}
