/**
 * Compaction (issue 18 §2): a compaction that fails backs off with a growing delay, logged once per
 * failure.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { snapshotName } from '../../../src/persistence/files.js';
import { Store } from '../../../src/persistence/store.js';
import type { DictState } from '../../../src/server/objects/dict.js';
import { Registry } from '../../../src/server/registry.js';
import { tempDir } from '../../helpers/server.js';
import { until } from '../../helpers/until.js';

describe('a failing compaction', () => {
  it('backs off with a growing delay, logging each failure', async () => {
    const dir = tempDir();
    const lines: string[] = [];
    const registry = new Registry();
    const store = await Store.open(registry, { dir, fsync: 'no', compactAfterBytes: 1, compactionRetryMs: 50, log: (line) => lines.push(line) });
    // Every snapshot's temporary name is taken by a directory: writing it fails (EISDIR).
    for (let seq = 2; seq < 40; seq++) mkdirSync(join(dir, `${snapshotName(seq)}.tmp`));
    const dict = registry.resolve('dict', 'd').state as DictState;
    void dict;
    const failures = () => lines.filter((line) => line.includes('compaction failed'));
    const started = Date.now();
    // Changes keep coming for 1.5 s: each written batch asks for a compaction.
    while (Date.now() - started < 1500) {
      registry.journal!.add(['dset', 'd', `k${Date.now()}`, 1]);
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await until(() => failures().length >= 3, 5000);
    const delays = failures().map((line) => Number(/retrying in ([\d.]+) s/.exec(line)![1]));
    // 50 ms, then 100, 200, 400, 800: five or six attempts in 1.5 s, not one per write.
    expect(delays.length).toBeLessThanOrEqual(7);
    for (let i = 1; i < delays.length; i++) expect(delays[i]).toBeGreaterThan(delays[i - 1]!);
    expect(readdirSync(dir).filter((name) => name.endsWith('.snap'))).toEqual([]);
    await store.close();
  });
});
