/** Queue: FIFO items, blocked getters and putters, task accounting. Driven through the store and dispatch with fake sessions (test/helpers/primitives-world.ts). */
import { describe, expect, it } from 'vitest';
import type { QueueState } from '../../../../src/core/objects/queue.js';
import { codeOf } from '../../../helpers/assert.js';
import { flush, sessions, track, World } from '../../../helpers/primitives-world.js';

describe('queue', () => {
  it('delivers items first in, first out', () => {
    const world = new World();
    const [a] = sessions(1);
    for (const item of ['a', { b: 1 }, [3], null]) world.call(a!, 'queue', 'Q', 'put', [item]);
    expect(world.call(a!, 'queue', 'Q', 'size')).toBe(4);
    expect([1, 2, 3, 4].map(() => world.call(a!, 'queue', 'Q', 'get'))).toEqual(['a', { b: 1 }, [3], null]);
    expect(world.call(a!, 'queue', 'Q', 'empty')).toBe(true);
  });

  it('blocks puts while full (maxsize), refuses putNowait with QUEUE_FULL, and admits blocked puts in FIFO order', async () => {
    const world = new World();
    const [a, p1, p2] = sessions(3);
    world.call(a!, 'queue', 'Q', 'put', [1], { maxsize: 2 });
    world.call(a!, 'queue', 'Q', 'put', [2]);
    expect(world.call(a!, 'queue', 'Q', 'full')).toBe(true);
    const put3 = track(world.call(p1!, 'queue', 'Q', 'put', [3]));
    const put4 = track(world.call(p2!, 'queue', 'Q', 'put', [4]));
    expect(codeOf(() => world.call(a!, 'queue', 'Q', 'putNowait', [99]))).toBe('QUEUE_FULL');
    await flush();
    expect([put3.state, put4.state]).toEqual(['pending', 'pending']);
    expect(world.call(a!, 'queue', 'Q', 'state')).toEqual({ size: 2, maxsize: 2, unfinished: 2, getters: 0, putters: 2 });
    expect(world.call(a!, 'queue', 'Q', 'get')).toBe(1);
    await flush();
    expect([put3.state, put4.state]).toEqual(['fulfilled', 'pending']);
    expect(world.call(a!, 'queue', 'Q', 'get')).toBe(2);
    expect(world.call(a!, 'queue', 'Q', 'get')).toBe(3);
    expect(world.call(a!, 'queue', 'Q', 'get')).toBe(4);
    await flush();
    expect(put4.state).toBe('fulfilled');
  });

  it('hands each item to exactly one blocked getter, in the order the getters came', async () => {
    const world = new World();
    const ss = sessions(4);
    const getters = ss.slice(0, 3).map((s) => track(world.call(s, 'queue', 'Q', 'get')));
    expect(world.call(ss[3]!, 'queue', 'Q', 'state')).toMatchObject({ getters: 3 });
    world.call(ss[3]!, 'queue', 'Q', 'put', ['x']);
    world.call(ss[3]!, 'queue', 'Q', 'put', ['y']);
    await flush();
    expect(getters.map((g) => g.value)).toEqual(['x', 'y', undefined]);
    expect(getters[2]!.state).toBe('pending');
    world.call(ss[3]!, 'queue', 'Q', 'put', ['z']);
    await flush();
    expect(getters.map((g) => g.value)).toEqual(['x', 'y', 'z']);
    expect(world.call(ss[3]!, 'queue', 'Q', 'size')).toBe(0);
  });

  it('hands each item of an atomic batch of puts to a different waiting getter', async () => {
    const world = new World();
    const ss = sessions(4);
    const getters = ss.slice(0, 3).map((s) => track(world.call(s, 'queue', 'Q', 'get')));
    world.atomic(ss[3]!, [
      ['queue', 'Q', 'put', ['x']],
      ['queue', 'Q', 'put', ['y']],
      ['queue', 'Q', 'put', ['z']],
      ['queue', 'Q', 'put', ['left']],
    ]);
    await flush();
    expect(getters.map((g) => g.value)).toEqual(['x', 'y', 'z']);
    expect(world.call(ss[3]!, 'queue', 'Q', 'state')).toMatchObject({ size: 1, getters: 0, unfinished: 4 });
    expect(world.call(ss[3]!, 'queue', 'Q', 'get')).toBe('left');
  });

  it('fails getNowait on an empty queue and a timed-out get with QUEUE_EMPTY', async () => {
    const world = new World();
    const [a] = sessions(1);
    expect(codeOf(() => world.call(a!, 'queue', 'Q', 'getNowait'))).toBe('QUEUE_EMPTY');
    expect(codeOf(() => world.call(a!, 'queue', 'Q', 'get', [0]))).toBe('QUEUE_EMPTY');
    await expect(world.call(a!, 'queue', 'Q', 'get', [0.02]) as Promise<unknown>).rejects.toMatchObject({ code: 'QUEUE_EMPTY' });
    expect(world.call(a!, 'queue', 'Q', 'state')).toMatchObject({ getters: 0 });
  });

  it('fails a timed-out put with QUEUE_FULL without adding its item', async () => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'queue', 'Q', 'put', ['kept'], { maxsize: 1 });
    await expect(world.call(a!, 'queue', 'Q', 'put', ['dropped', 0.02]) as Promise<unknown>).rejects.toMatchObject({ code: 'QUEUE_FULL' });
    expect(world.call(a!, 'queue', 'Q', 'state')).toEqual({ size: 1, maxsize: 1, unfinished: 1, getters: 0, putters: 0 });
    expect(world.call(a!, 'queue', 'Q', 'get')).toBe('kept');
    expect(world.call(a!, 'queue', 'Q', 'size')).toBe(0);
  });

  it('neither swallows an item for a closed getter nor admits the item of a closed putter', async () => {
    const world = new World();
    const [a, goneGetter, goneputter, b] = sessions(4);
    const lost = track(world.call(goneGetter!, 'queue', 'G', 'get'));
    goneGetter!.close();
    world.call(a!, 'queue', 'G', 'put', ['item']);
    await flush();
    expect(lost.error?.code).toBe('SHUTTING_DOWN');
    expect(world.call(b!, 'queue', 'G', 'get')).toBe('item');

    world.call(a!, 'queue', 'P', 'put', [1], { maxsize: 1 });
    track(world.call(goneputter!, 'queue', 'P', 'put', [2]));
    goneputter!.close();
    expect(world.call(b!, 'queue', 'P', 'get')).toBe(1);
    await flush();
    expect(world.call(b!, 'queue', 'P', 'state')).toMatchObject({ size: 0, unfinished: 1, putters: 0 });
  });

  it('resolves join only once every item put has been marked done with taskDone', async () => {
    const world = new World();
    const [a, joiner] = sessions(2);
    expect(world.call(joiner!, 'queue', 'Q', 'join')).toBe(true); // nothing unfinished
    for (const item of [1, 2, 3]) world.call(a!, 'queue', 'Q', 'put', [item]);
    const join = track(world.call(joiner!, 'queue', 'Q', 'join'));
    expect(world.call(joiner!, 'queue', 'Q', 'join', [0])).toBe(false);
    for (let i = 0; i < 3; i++) world.call(a!, 'queue', 'Q', 'get');
    world.call(a!, 'queue', 'Q', 'taskDone');
    world.call(a!, 'queue', 'Q', 'taskDone');
    await flush();
    expect(join.state).toBe('pending');
    world.call(a!, 'queue', 'Q', 'taskDone');
    await flush();
    expect(join.state).toBe('fulfilled');
    expect(join.value).toBe(true);
  });

  it('counts an item admitted from a blocked put as unfinished', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    world.call(a!, 'queue', 'Q', 'put', [1], { maxsize: 1 });
    const blocked = world.call(b!, 'queue', 'Q', 'put', [2]) as Promise<unknown>;
    expect(world.call(a!, 'queue', 'Q', 'state')).toMatchObject({ unfinished: 1 });
    world.call(a!, 'queue', 'Q', 'get');
    await blocked;
    expect(world.call(a!, 'queue', 'Q', 'state')).toMatchObject({ unfinished: 2, size: 1 });
  });

  it('refuses more taskDone calls than items put with OUT_OF_RANGE', () => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'queue', 'Q', 'put', ['x']);
    world.call(a!, 'queue', 'Q', 'taskDone');
    expect(codeOf(() => world.call(a!, 'queue', 'Q', 'taskDone'))).toBe('OUT_OF_RANGE');
    expect(world.call(a!, 'queue', 'Q', 'state')).toMatchObject({ unfinished: 0 });
  });

  it('resolves a timed-out join with false', async () => {
    const world = new World();
    const [a] = sessions(1);
    world.call(a!, 'queue', 'Q', 'put', ['x']);
    await expect(world.call(a!, 'queue', 'Q', 'join', [0.02])).resolves.toBe(false);
  });

  it('refuses a bad maxsize with INVALID_ARGUMENT', () => {
    const world = new World();
    const [a] = sessions(1);
    for (const maxsize of [-1, 1.5, 'x']) {
      expect(codeOf(() => world.call(a!, 'queue', 'Q', 'size', [], { maxsize }))).toBe('INVALID_ARGUMENT');
    }
  });

  it('undoes a put and a get rolled back in an atomic batch, and wakes no getter', async () => {
    const world = new World();
    const [a, b] = sessions(2);
    world.call(a!, 'queue', 'Q', 'put', ['first']);
    expect(codeOf(() => world.atomic(a!, [['queue', 'Q', 'get'], ['queue', 'Q', 'put', ['second']], ['list', 'l', 'pop']]))).toBe('OUT_OF_RANGE');
    expect(world.state<QueueState>('queue', 'Q').items.toArray()).toEqual(['first']);
    expect(world.call(a!, 'queue', 'Q', 'state')).toMatchObject({ unfinished: 1, size: 1 });
    world.call(a!, 'queue', 'Q', 'get');
    const getter = track(world.call(b!, 'queue', 'Q', 'get'));
    expect(codeOf(() => world.atomic(a!, [['queue', 'Q', 'put', ['ghost']], ['list', 'l', 'pop']]))).toBe('OUT_OF_RANGE');
    await flush();
    expect(getter.state).toBe('pending');
    expect(world.call(a!, 'queue', 'Q', 'size')).toBe(0);
  });
});
