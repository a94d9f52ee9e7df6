import { describe, expect, it } from 'vitest';
import { MAX_CACHED_OBJECTS, RequestTargets } from '../../../src/client/request-targets.js';
import { encodeRequestTarget } from '../../../src/protocol/fast-path.js';

describe('RequestTargets', () => {
  it("encodes an operation's target as fast-path.ts does, once per object", () => {
    const cache = new RequestTargets();
    const lock = cache.of('lock', 'bench:k:lock');
    const acquire = lock.get('acquire');
    expect(acquire).toEqual(encodeRequestTarget('acquire', 'lock', 'bench:k:lock'));
    // A name built afresh, as `client.lock(`${prefix}:lock`)` builds it per use, finds the same entry.
    const again = cache.of('lock', ['bench', 'k', 'lock'].join(':'));
    expect(again).toBe(lock);
    expect(again.get('acquire')).toBe(acquire);
    expect(again.get('release')).toEqual(encodeRequestTarget('release', 'lock', 'bench:k:lock'));
    expect(cache.size).toBe(1);
  });

  it('keeps one type apart from another of the same name', () => {
    const cache = new RequestTargets();
    const asLock = cache.of('lock', 'x').get('acquire');
    const asRlock = cache.of('rlock', 'x').get('acquire');
    expect(asLock!.toString('latin1')).toContain('"type":"lock"');
    expect(asRlock!.toString('latin1')).toContain('"type":"rlock"');
    expect(cache.size).toBe(2);
  });

  it('has no target for a name that is not plain text, asked again or not', () => {
    const targets = new RequestTargets().of('dict', 'caf\u00e9');
    expect(targets.get('get')).toBeUndefined();
    expect(targets.get('get')).toBeUndefined();
  });

  it(`starts over past ${MAX_CACHED_OBJECTS} objects, and a proxy's targets still serve`, () => {
    const cache = new RequestTargets();
    const first = cache.of('lock', 'lock-0');
    for (let i = 1; i < MAX_CACHED_OBJECTS; i++) cache.of('lock', `lock-${i}`);
    expect(cache.size).toBe(MAX_CACHED_OBJECTS);
    expect(cache.of('lock', 'lock-0')).toBe(first);
    cache.of('dict', 'one-more');
    expect(cache.size).toBe(1);
    expect(cache.of('lock', 'lock-0')).not.toBe(first);
    expect(first.get('release')).toEqual(encodeRequestTarget('release', 'lock', 'lock-0'));
  });
});
