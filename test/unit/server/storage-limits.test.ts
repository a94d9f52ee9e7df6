/** MemoryLimit moves between under and over on its readings, confirming with a collection, and logs each crossing once. */
import { describe, expect, it } from 'vitest';
import { OperationError } from '../../../src/errors.js';
import { dictType } from '../../../src/core/objects/dict.js';
import { MemoryLimit, StorageLimits } from '../../../src/server/storage-limits.js';

function limitWith(readings: number[]): { limit: MemoryLimit; logs: string[] } {
  const logs: string[] = [];
  let last = 0;
  const limit = new MemoryLimit(100, (line) => logs.push(line), () => (last = readings.length > 0 ? readings.shift()! : last));
  return { limit, logs };
}

describe('MemoryLimit', () => {
  it('crosses over only when a reading after a collection is still over, and logs it once', () => {
    // A crossing takes two samples: one that collects, and the next, which decides.
    const { limit, logs } = limitWith([150, 90, 50]);
    limit.sample();
    expect(limit.over).toBe(false);
    expect(logs).toEqual([]);
  });

  it('does not cross over on a reading it cannot confirm yet: garbage may make it up', () => {
    // A collection 1 s ago found 90; the next reading, over again, waits for the next collection.
    const { limit, logs } = limitWith([150, 90, 150, 150]);
    limit.sample();
    limit.sample();
    expect(limit.over).toBe(false);
    expect(logs).toEqual([]);
  });

  it('stays over while readings are over, and logs once each way', () => {
    const { limit, logs } = limitWith([150, 150, 140, 130, 80]);
    limit.sample();
    limit.sample();
    expect(limit.over).toBe(true);
    limit.sample();
    limit.sample();
    expect(limit.over).toBe(true);
    limit.sample();
    expect(limit.over).toBe(false);
    expect(logs).toHaveLength(2);
    expect(logs[0]).toMatch(/^warning: memory use .* is over --max-memory/);
    expect(logs[1]).toMatch(/^warning: memory use .* is back under --max-memory/);
  });
});

describe('StorageLimits', () => {
  it('refuses growing operations and creation while over, serves the rest, and notes frees', () => {
    const { limit } = limitWith([150, 150]);
    limit.sample();
    limit.sample();
    const limits = new StorageLimits(limit, undefined);
    expect(() => limits.check(dictType, 'set', false, 1)).toThrow(OperationError);
    expect(() => limits.check(dictType, 'get', true, 1)).toThrow(expect.objectContaining({ code: 'OUT_OF_MEMORY' }));
    expect(() => limits.check(dictType, 'get', false, 1)).not.toThrow();
    expect(limit.freed).toBe(false);
    limits.check(dictType, 'delete', false, 1);
    expect(limit.freed).toBe(true);
  });

  it('refuses creation past maxObjects with TOO_MANY_OBJECTS', () => {
    const limits = new StorageLimits(undefined, 2);
    expect(() => limits.check(dictType, 'set', true, 1)).not.toThrow();
    expect(() => limits.check(dictType, 'set', true, 2)).toThrow(expect.objectContaining({ code: 'TOO_MANY_OBJECTS' }));
    expect(() => limits.check(dictType, 'set', false, 5)).not.toThrow();
  });
});
