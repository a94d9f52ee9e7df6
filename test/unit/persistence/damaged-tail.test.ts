/**
 * The last record of the log: only one whose bytes stop short of its length (a write a crash
 * interrupted) may be dropped at start as never acknowledged, and a copy of what is dropped is kept
 * next to the log. A complete record with a bad checksum was damaged after it was written: the
 * server refuses to start, as for damage anywhere else (issue 18 §5).
 */
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDataDir } from '../../../src/persistence/check.js';
import { segmentName } from '../../../src/persistence/files.js';
import { loadDataDir } from '../../../src/persistence/loader.js';
import { encodeRecord, encodeRecords } from '../../../src/persistence/record.js';
import { Store } from '../../../src/persistence/store.js';
import type { DictState } from '../../../src/core/objects/dict.js';
import { Registry } from '../../../src/core/memory-store.js';
import { tempDir } from '../../helpers/server.js';

const GOOD = [JSON.stringify([['create', 'dict', 'd', null], ['dset', 'd', 'a', 1]]), JSON.stringify([['dset', 'd', 'b', 2]])];
const LAST = encodeRecord(JSON.stringify([['dset', 'd', 'late', 'x'.repeat(100)]]));

/** A segment of GOOD's records followed by `tail`; returns its path and where the tail starts. */
function segmentWith(dir: string, tail: Buffer): { path: string; good: number } {
  const path = join(dir, segmentName(1));
  const good = encodeRecords(GOOD);
  writeFileSync(path, Buffer.concat([good, tail]));
  return { path, good: good.length };
}

/** LAST with one byte of its payload changed: complete, but its checksum fails. */
function flippedLast(): Buffer {
  const bytes = Buffer.from(LAST);
  bytes[20] ^= 0x01;
  return bytes;
}

describe('a damaged last record', () => {
  it('is refused when it is complete but fails its checksum', async () => {
    const dir = tempDir();
    const { path, good } = segmentWith(dir, flippedLast());
    const report = await loadDataDir(dir, new Registry());
    expect(report.torn).toBeUndefined();
    expect(report.fatal?.offset).toBe(good);
    expect(report.fatal?.message).toMatch(/complete .* checksum|checksum .* complete/);
    expect(report.fatal?.repair).toMatchObject({ offset: good, dropBytes: LAST.length });
    await expect(Store.open(new Registry(), { dir, fsync: 'always' })).rejects.toMatchObject({
      code: 'DATA_CORRUPT',
      message: expect.stringContaining(`syncmgr check --data-dir ${dir} --repair`),
    });
    // Nothing was cut.
    expect(readFileSync(path).length).toBe(good + LAST.length);
  });

  it('is refused when complete and followed by preallocated zeros', async () => {
    const dir = tempDir();
    segmentWith(dir, Buffer.concat([flippedLast(), Buffer.alloc(4096)]));
    const report = await loadDataDir(dir, new Registry());
    expect(report.torn).toBeUndefined();
    expect(report.fatal).toBeDefined();
  });

  it('is torn when its bytes stop short: cut off, or ending in never-written zeros', async () => {
    for (const tail of [
      LAST.subarray(0, 40),
      // Its first bytes reached the disk, the rest of its length is preallocated zeros.
      Buffer.concat([LAST.subarray(0, 40), Buffer.alloc(4096)]),
    ]) {
      const dir = tempDir();
      const { good } = segmentWith(dir, tail);
      const report = await loadDataDir(dir, new Registry());
      expect(report.fatal).toBeUndefined();
      expect(report.torn).toMatchObject({ offset: good, dropBytes: tail.length });
    }
  });

  it('when torn, is dropped at start with a copy kept next to the log', async () => {
    const dir = tempDir();
    const tail = LAST.subarray(0, 40);
    const { path, good } = segmentWith(dir, tail);
    const lines: string[] = [];
    const registry = new Registry();
    const store = await Store.open(registry, { dir, fsync: 'always', log: (line) => lines.push(line) });
    await store.close();
    expect([...(registry.peek('d')!.state as DictState).keys()]).toEqual(['a', 'b']);
    expect(readFileSync(path).length).toBe(good);
    expect(readFileSync(`${path}.dropped-${good}`)).toEqual(tail);
    expect(lines.join('\n')).toContain(`${path}.dropped-${good}`);
  });

  it('is cut by check --repair, which keeps the bytes', async () => {
    const dir = tempDir();
    const { path, good } = segmentWith(dir, flippedLast());
    appendFileSync(path, Buffer.alloc(0));
    const result = await checkDataDir(dir, true);
    expect(result.repaired[0]).toContain(`truncated ${path} to ${good} bytes`);
    expect(readFileSync(`${path}.damaged-${good}`)).toEqual(flippedLast());
    expect(result.after?.fatal).toBeUndefined();
  });
});
