/**
 * A data directory written before the core took its changes through effects and transactions
 * (test/fixtures/data-dir-1b28814, made by the .make.mjs beside it) loads into the same state:
 * its snapshot through each type's fill, its log through each type's apply.
 */
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../../src/core/memory-store.js';
import { makeDump } from '../../../src/persistence/dump.js';
import { loadDataDir } from '../../../src/persistence/loader.js';
import { connectTo, startServer, tempDir } from '../../helpers/server.js';

const FIXTURE = join(import.meta.dirname, '../../fixtures/data-dir-1b28814');
const expected = JSON.parse(readFileSync(`${FIXTURE}.expected.json`, 'utf8')) as unknown[];

function copy(): string {
  const dir = join(tempDir(), 'data');
  cpSync(FIXTURE, dir, { recursive: true });
  return dir;
}

describe('a data directory of the previous format', () => {
  it('loads into the state the server that wrote it had', async () => {
    const store = new MemoryStore();
    const report = await loadDataDir(copy(), store);
    expect(report.fatal).toBeUndefined();
    expect(report.torn).toBeUndefined();
    expect(report.effects).toBeGreaterThan(10);
    expect(makeDump(store, 'loaded').objects).toEqual(expected);
  });

  it('serves it: contents back, and no fence handed out again', async () => {
    const { tcp } = await startServer({ dataDir: copy() });
    const client = await connectTo(tcp);
    expect(await client.dict('d').items()).toEqual([['b', { nested: [1, 2] }], ['c', 'three'], ['n', 5], ['z', null]]);
    expect(await client.queue('q').get()).toBe('second');
    const grant = await client.lock('lk').acquire();
    expect(grant.fence).toBeGreaterThan(1024);
    await grant.release();
  });
});
