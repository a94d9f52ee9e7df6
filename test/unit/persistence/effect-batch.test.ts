/**
 * EffectBatch: the requests merged into one log record replay to the state the requests made one
 * by one, key order included; hot keys collapse to one effect.
 */
import { describe, expect, it } from 'vitest';
import { EffectBatch } from '../../../src/persistence/effect-batch.js';
import { applyEffect, captureAll } from '../../../src/persistence/state.js';
import type { Effect } from '../../../src/core/effects.js';
import { Registry } from '../../../src/core/memory-store.js';
import { random } from '../../helpers/random.js';

/** Every object of `registry` with its items, in order: what a replay must reproduce. */
function contents(registry: Registry): unknown {
  return captureAll(registry).map((object) => [object.type, object.name, object.slice(0, object.count)]);
}

/** One request's effects: mostly sets of a few hot keys, with deletes, clears and list changes. */
function request(next: () => number, created: Set<string>, step: number): Effect[] {
  const effects: Effect[] = [];
  if (!created.has('l')) {
    created.add('l');
    effects.push(['create', 'list', 'l', null]);
  }
  const count = 1 + Math.floor(next() * 3);
  for (let i = 0; i < count; i++) {
    const name = next() < 0.5 ? 'a' : 'b';
    if (!created.has(name)) {
      created.add(name);
      effects.push(['create', 'dict', name, null]);
    }
    const key = `k${Math.floor(next() * 4)}`;
    const roll = next();
    if (roll < 0.7) effects.push(['dset', name, key, roll < 0.1 ? { step, list: [step] } : roll < 0.2 ? `s${step}` : step]);
    else if (roll < 0.85) effects.push(['ddel', name, key]);
    else if (roll < 0.9) effects.push(['dclear', name]);
    else effects.push(['lsplice', 'l', 0, 0, [step]]);
  }
  return effects;
}

describe('EffectBatch', () => {
  it('overwrites a key set again in place: a hot counter is one effect', () => {
    const batch = new EffectBatch();
    batch.add([['create', 'dict', 'counters', null], ['dset', 'counters', 'hits', 1]]);
    for (let value = 2; value <= 1000; value++) batch.add([['dset', 'counters', 'hits', value]]);
    batch.add([['dset', 'counters', 'misses', 1]]);
    batch.add([['dset', 'counters', 'hits', 1001]]);
    expect(batch.seal()).toBe('[["create","dict","counters",null],["dset","counters","hits",1001],["dset","counters","misses",1]]');
  });

  it('starts a new set after the key is deleted or its dict cleared, created or filled', () => {
    const batch = new EffectBatch();
    batch.add([['dset', 'd', 'k', 1], ['ddel', 'd', 'k'], ['dset', 'd', 'k', 2], ['dset', 'd', 'k', 3]]);
    batch.add([['dclear', 'd'], ['dset', 'd', 'k', 4]]);
    batch.add([['create', 'dict', 'd', null], ['dset', 'd', 'k', 5]]);
    batch.add([['fill', 'd', null, []], ['dset', 'd', 'k', 6], ['dset', 'e', 'k', 7], ['dset', 'd', 'k', 8]]);
    expect(JSON.parse(batch.seal())).toEqual([
      ['dset', 'd', 'k', 1], ['ddel', 'd', 'k'], ['dset', 'd', 'k', 3],
      ['dclear', 'd'], ['dset', 'd', 'k', 4],
      ['create', 'dict', 'd', null], ['dset', 'd', 'k', 5],
      ['fill', 'd', null, []], ['dset', 'd', 'k', 8], ['dset', 'e', 'k', 7],
    ]);
  });

  it('keeps other effects as they came, in order', () => {
    const effects: Effect[] = [
      ['qpush', 'q', { job: 1 }], ['qshift', 'q'], ['qdone', 'q'], ['event', 'e', true], ['sadd', 's'], ['fence', 'lock', 2048],
      ['lsplice', 'l', 0, 0, ['x', 'y']], ['lsplice', 'l', 1, 1, []], ['qpush', 'q', { job: 1 }],
    ];
    const batch = new EffectBatch();
    for (const effect of effects) batch.add([effect]);
    expect(JSON.parse(batch.seal())).toEqual(effects);
  });

  it('writes values as JSON.stringify does, escapes and unicode included', () => {
    const effects: Effect[] = [['dset', 'd"\n', 'k\u2028é', 'line\nbreak "quoted" €'], ['dset', 'd', 'o', { a: [1, null, true] }], ['dset', 'd', 'n', null]];
    const batch = new EffectBatch();
    batch.add(effects);
    expect(batch.seal()).toBe(JSON.stringify(effects));
  });

  it('replays to the state the requests made one by one (random requests, 200 seeds)', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const next = random(seed);
      const created = new Set<string>();
      const oneByOne = new Registry();
      const batch = new EffectBatch();
      let effects = 0;
      for (let step = 0; step < 60; step++) {
        const group = request(next, created, step);
        for (const effect of group) applyEffect(oneByOne, effect);
        batch.add(group);
        effects += group.length;
      }
      const replayed = new Registry();
      const payload = JSON.parse(batch.seal()) as Effect[];
      for (const effect of payload) applyEffect(replayed, effect);
      expect(contents(replayed), `seed ${seed}`).toEqual(contents(oneByOne));
      expect(payload.length, `seed ${seed}`).toBeLessThan(effects);
    }
  });

  it('seals once: no second payload, and no more effects', () => {
    const batch = new EffectBatch();
    batch.add([['dset', 'd', 'k', 1]]);
    expect(batch.sealed).toBe(false);
    expect(batch.seal()).toBe('[["dset","d","k",1]]');
    expect(batch.sealed).toBe(true);
    expect(() => batch.seal()).toThrow(/sealed once/);
    expect(() => batch.add([['dset', 'd', 'k', 2]])).toThrow(/sealed/);
  });

  it('counts its size: grows with new effects and large values, not with overwrites of small ones', () => {
    const batch = new EffectBatch();
    batch.add([['dset', 'd', 'k', 1]]);
    const one = batch.size;
    for (let value = 0; value < 10_000; value++) batch.add([['dset', 'd', 'k', value]]);
    expect(batch.size).toBe(one);
    batch.add([['dset', 'd', 'k', 'x'.repeat(100_000)]]);
    expect(batch.size).toBeGreaterThan(100_000);
    batch.add([['dset', 'd', 'k', 2]]);
    expect(batch.size).toBe(one);
    batch.add([['lsplice', 'l', 0, 0, [{ big: 'y'.repeat(50_000) }]]]);
    expect(batch.size).toBeGreaterThan(50_000);
    const size = batch.size;
    expect(batch.seal().length).toBeLessThanOrEqual(size);
  });
});
