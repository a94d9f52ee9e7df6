/** The change stream: one revision per committed transaction, in order; nothing for a rollback. */
import { describe, expect, it } from 'vitest';
import type { AnyEffect } from '../../../src/core/effects.js';
import { MemoryStore } from '../../../src/core/memory-store.js';

function subscribed() {
  const store = new MemoryStore();
  const changes: Array<[number, readonly AnyEffect[]]> = [];
  store.changes.subscribe((revision, effects) => changes.push([revision, effects]));
  return { store, changes };
}

describe('the change stream', () => {
  it('publishes each committed transaction once, with its effects in order and the next revision', () => {
    const { store, changes } = subscribed();
    const tx = store.begin();
    const dict = store.resolve('dict', 'd', undefined, tx);
    tx.target = dict;
    tx.emit(['dset', 'd', 'a', 1]);
    tx.emit(['dset', 'd', 'b', 2]);
    tx.commit();
    const second = store.begin();
    second.emit(['ddel', 'd', 'a']);
    second.commit();
    expect(changes).toEqual([
      [1, [['create', 'dict', 'd', null], ['dset', 'd', 'a', 1], ['dset', 'd', 'b', 2]]],
      [2, [['ddel', 'd', 'a']]],
    ]);
    expect(store.changes.revision).toBe(2);
  });

  it('publishes nothing for a rolled-back transaction, whose changes are undone', () => {
    const { store, changes } = subscribed();
    const tx = store.begin(undefined, null, true);
    store.resolve('list', 'l', undefined, tx);
    tx.emit(['lsplice', 'l', 0, 0, ['x']]);
    tx.rollback();
    expect(changes).toEqual([]);
    expect(store.size).toBe(0);
  });

  it('publishes a change made after the commit on its own', () => {
    const { store, changes } = subscribed();
    const tx = store.begin();
    store.resolve('event', 'e', undefined, tx);
    tx.commit();
    tx.emit(['event', 'e', true]);
    expect(changes.map(([revision, effects]) => [revision, effects.length])).toEqual([[1, 1], [2, 1]]);
    expect((store.peek('e')!.state as { flag: boolean }).flag).toBe(true);
  });

  it('collects nothing while nobody listens, and still counts revisions', () => {
    const store = new MemoryStore();
    expect(store.recordsEffects).toBe(false);
    const tx = store.begin();
    store.resolve('dict', 'd', undefined, tx);
    tx.commit();
    expect(store.changes.revision).toBe(1);
    const read = store.begin();
    read.commit();
    expect(store.changes.revision).toBe(1);
  });
});
