/**
 * Values JSON would store changed (undefined, NaN, a Map, a Buffer...) or cannot encode at all
 * (BigInt, a cycle) are refused by the client with a rejected INVALID_ARGUMENT promise, never
 * stored, and never thrown synchronously out of a method that returns a promise.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import { connectTo, startServer } from '../helpers/server.js';

class Point {
  constructor(readonly x: number) {}
}
const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;

const REFUSED: Array<[string, unknown]> = [
  ['undefined', undefined],
  ['NaN', Number.NaN],
  ['Infinity', Number.POSITIVE_INFINITY],
  ['a BigInt', 10n],
  ['a Map', new Map([['a', 1]])],
  ['a Set', new Set([1])],
  ['a Buffer', Buffer.from('hi')],
  ['a Uint8Array', new Uint8Array([1, 2])],
  ['a Date', new Date(0)],
  ['a class instance', new Point(1)],
  ['a function', () => 1],
  ['a symbol', Symbol('s')],
  ['a cycle', cyclic],
  ['NaN inside an array', [1, Number.NaN]],
  ['undefined inside an array', [1, undefined]],
  ['a Map inside an object', { nested: { m: new Map() } }],
  ['a function as an object property', { f: () => 1 }],
];

describe('values that cannot round-trip through JSON', () => {
  let client: Client;

  beforeAll(async () => {
    client = await connectTo((await startServer()).tcp);
  });

  it.each(REFUSED)('refuses %s with a rejected INVALID_ARGUMENT promise, storing nothing', async (_what, value) => {
    const dict = client.dict('unfaithful');
    let returned: Promise<void> | undefined;
    expect(() => {
      returned = dict.set('k', value as never);
    }).not.toThrow();
    await expect(returned).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringMatching(/args\[1\]/) });
    expect(await dict.has('k')).toBe(false);
  });

  it('refuses them in every method, e.g. list.append, queue.put and incr', async () => {
    await expect(client.list('l').append(new Map() as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.queue('q').put(5n as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.dict('d').incr('n', Number.NaN)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(client.atomic([{ type: 'dict', name: 'd', op: 'set', args: ['k', undefined] }])).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('stores what JSON carries faithfully, and drops undefined object properties as JSON does', async () => {
    const dict = client.dict('faithful');
    const value = { s: 'x', n: -1.5, b: true, z: null, a: [1, 'two', [3]], o: { deep: {} }, gone: undefined };
    await dict.set('k', value);
    expect(await dict.get('k')).toEqual({ s: 'x', n: -1.5, b: true, z: null, a: [1, 'two', [3]], o: { deep: {} } });
    await dict.set('nul', Object.assign(Object.create(null), { p: 1 }));
    expect(await dict.get('nul')).toEqual({ p: 1 });
  });

  it('refuses a value nested too deep for the stack, without throwing', async () => {
    let deep: unknown[] = [];
    for (let i = 0; i < 1_000_000; i++) deep = [deep];
    await expect(client.dict('d').set('deep', deep as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('keeps the connection usable after a refusal', async () => {
    await expect(client.dict('d').set('k', 1n as never)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await client.dict('d').set('k', 1);
    expect(await client.dict('d').get('k')).toBe(1);
  });
});
