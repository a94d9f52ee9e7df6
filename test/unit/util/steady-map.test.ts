/** SteadyMap behaves as a Map of its own entries only: the hidden anchor never shows. */
import { describe, expect, it } from 'vitest';
import { SteadyMap } from '../../../src/util/steady-map.js';

describe('SteadyMap', () => {
  it('gets, sets, deletes and counts like a Map', () => {
    const map = new SteadyMap<number | string, string>();
    expect(map.size).toBe(0);
    expect(map.get(1)).toBeUndefined();
    map.set(1, 'one');
    map.set('1', 'string one');
    map.set(1, 'one again');
    expect(map.size).toBe(2);
    expect(map.get(1)).toBe('one again');
    expect(map.get('1')).toBe('string one');
    expect(map.delete(1)).toBe(true);
    expect(map.delete(1)).toBe(false);
    expect(map.size).toBe(1);
  });

  it('lists only its own keys and values, in insertion order', () => {
    const map = new SteadyMap<number, string>();
    for (let i = 0; i < 5; i++) map.set(i, `v${i}`);
    map.delete(2);
    expect([...map.keys()]).toEqual([0, 1, 3, 4]);
    expect([...map.values()]).toEqual(['v0', 'v1', 'v3', 'v4']);
  });

  it('is empty after clear() and usable again', () => {
    const map = new SteadyMap<string, number>();
    map.set('a', 1);
    map.clear();
    expect(map.size).toBe(0);
    expect([...map.keys()]).toEqual([]);
    expect([...map.values()]).toEqual([]);
    map.set('b', 2);
    expect([...map.keys()]).toEqual(['b']);
  });

  it('goes from one entry to none and back many times', () => {
    const map = new SteadyMap<number, number>();
    for (let i = 0; i < 10_000; i++) {
      map.set(i, i);
      expect(map.size).toBe(1);
      expect(map.get(i)).toBe(i);
      map.delete(i);
      expect(map.size).toBe(0);
    }
  });
});
