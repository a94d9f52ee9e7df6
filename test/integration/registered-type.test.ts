/**
 * An object type registered by a program (createServer({ types })) persists and replays like the
 * built-in ones, through its own apply, capture and fill: persistence knows nothing of it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkArity } from '../../src/core/args.js';
import { type AnyEffect, unknownEffect } from '../../src/core/effects.js';
import { metaField, type ObjectType, opsTable, safeCount } from '../../src/core/object-type.js';
import { OperationError } from '../../src/errors.js';
import { segmentName } from '../../src/persistence/files.js';
import { RecordDecoder } from '../../src/persistence/record.js';
import type { Store } from '../../src/persistence/store.js';
import { createServer } from '../../src/server/server.js';
import { connectTo, startServer, tempDir } from '../helpers/server.js';

interface Counter {
  readonly name: string;
  value: number;
}

/** A counter with its own kind of change, `cadd`: the example type a program would write. */
const counterType: ObjectType<Counter> = {
  name: 'counter',
  create: (_init, name) => ({ name, value: 0 }),
  ops: opsTable<Counter>({
    get(counter, args) {
      checkArity(args, 0, 0, 'get()');
      return counter.value;
    },
    /** add(n) → the new value. */
    add(counter, args, tx) {
      checkArity(args, 1, 1, 'add(n)');
      const n = args[0];
      if (typeof n !== 'number' || !Number.isSafeInteger(n)) throw new OperationError('INVALID_ARGUMENT', 'add(n): n must be a whole number');
      tx.emit(['cadd', counter.name, n]);
      return counter.value;
    },
  }),
  apply(counter, effect, undoable): AnyEffect | undefined {
    if (effect[0] !== 'cadd') throw unknownEffect('counter', effect);
    const n = effect[2] as number;
    counter.value += n;
    return undoable ? ['cadd', counter.name, -n] : undefined;
  },
  capture: (counter) => ({ init: null, meta: { value: counter.value } }),
  fill(counter, meta) {
    if (meta !== undefined && meta !== null) counter.value = safeCount(metaField(meta, 'value'), 'counter meta.value');
  },
};

async function start(dir: string | undefined) {
  const started = await startServer({ types: [counterType], ...(dir !== undefined && { dataDir: dir, fsync: 'always' as const }) });
  const client = await connectTo(started.tcp);
  return { ...started, client, counter: (name: string) => ({ get: () => client.call<number>('counter', name, 'get', []), add: (n: number) => client.call<number>('counter', name, 'add', [n]) }) };
}

describe('a registered object type', () => {
  it('keeps its state across a restart: its effects are logged and replayed through its apply', async () => {
    const dir = tempDir();
    const first = await start(dir);
    expect(await first.counter('c').add(5)).toBe(5);
    expect(await first.counter('c').add(-2)).toBe(3);
    // A failed batch rolls the counter back through the inverse its apply returned.
    await expect(first.client.atomic([
      { type: 'counter', name: 'c', op: 'add', args: [100] },
      { type: 'dict', name: 'c', op: 'get', args: ['x'] },
    ])).rejects.toMatchObject({ code: 'WRONG_TYPE' });
    expect(await first.counter('c').get()).toBe(3);
    await first.client.close();
    await first.server.close();

    // The log holds the type's own effects, in the common JSON form.
    const effects = new RecordDecoder().push(readFileSync(join(dir, segmentName(1)))).flatMap((record) => JSON.parse(record.payload.toString()) as unknown[]);
    expect(effects).toEqual([['create', 'counter', 'c', null], ['cadd', 'c', 5], ['cadd', 'c', -2]]);

    const second = await start(dir);
    expect(await second.counter('c').get()).toBe(3);
    expect(await second.counter('c').add(1)).toBe(4);
    // Folded into a snapshot (through its capture), then loaded from it (through its fill).
    const compaction = await (second.server.journal as Store).compact();
    expect(compaction?.objects).toBe(1);
    await second.client.close();
    await second.server.close();

    const third = await start(dir);
    expect(await third.counter('c').get()).toBe(4);
  });

  it('goes through a dump and a restore', async () => {
    const source = await start(undefined);
    await source.counter('a').add(7);
    await source.client.dict('d').set('k', 1);
    const dump = await source.client.snapshot();
    expect(dump.objects.find((image) => image.name === 'a')).toEqual({ type: 'counter', name: 'a', init: null, meta: { value: 7 }, items: null });

    const target = await start(tempDir());
    expect(await target.client.restore(dump)).toBe(2);
    expect(await target.counter('a').get()).toBe(7);
    expect(await target.client.dict('d').get('k')).toBe(1);
  });

  it('cannot take the name of a type already served', () => {
    expect(() => createServer({ authkey: 'k', types: [{ ...counterType, name: 'dict' }] })).toThrow(/"dict" is served already/);
  });
});
