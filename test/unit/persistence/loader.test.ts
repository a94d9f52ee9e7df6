/** Reading a data directory back: snapshot + segments, torn tails, corruption, missing files. */
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDataDir } from '../../../src/persistence/check.js';
import { segmentName, snapshotName } from '../../../src/persistence/files.js';
import { loadDataDir } from '../../../src/persistence/loader.js';
import { encodeRecord, encodeRecords } from '../../../src/persistence/record.js';
import { writeSnapshot } from '../../../src/persistence/snapshot.js';
import { captureAll, toImage } from '../../../src/persistence/state.js';
import type { Effect } from '../../../src/core/effects.js';
import type { DictState } from '../../../src/core/objects/dict.js';
import type { ListState } from '../../../src/core/objects/list.js';
import type { LockState } from '../../../src/core/objects/lock.js';
import type { QueueState } from '../../../src/core/objects/queue.js';
import { Registry } from '../../../src/core/memory-store.js';
import { tempDir } from '../../helpers/server.js';

/** A segment file holding one record per group of effects. */
function writeSegment(dir: string, seq: number, groups: Effect[][]): string {
  const path = join(dir, segmentName(seq));
  writeFileSync(path, encodeRecords(groups.map((group) => JSON.stringify(group))));
  return path;
}

const SAMPLE: Effect[][] = [
  [['create', 'dict', 'd', null], ['dset', 'd', 'a', 1]],
  [['dset', 'd', 'b', { nested: [1, 2] }]],
  [['create', 'list', 'l', null], ['lsplice', 'l', 0, 0, ['x', 'y', 'z']]],
  [['lsplice', 'l', 1, 1, []]],
  [['create', 'queue', 'q', { maxsize: 5 }], ['qpush', 'q', 'job1'], ['qpush', 'q', 'job2']],
  [['qshift', 'q']],
  [['create', 'event', 'e', null], ['event', 'e', true]],
  [['create', 'semaphore', 's', { value: 2 }], ['sadd', 's']],
  [['create', 'lock', 'k', null], ['fence', 'k', 1024]],
  [['ddel', 'd', 'a']],
];

async function load(dir: string) {
  const registry = new Registry();
  const report = await loadDataDir(dir, registry);
  return { registry, report, state: <T>(name: string) => registry.peek(name)?.state as T };
}


/**
 * Flips one bit inside the payload of the segment's second record (damage in the middle); returns
 * the damaged bytes and that record's offset.
 */
function flipByteInSecondRecord(path: string): { bytes: Buffer; second: number } {
  const bytes = readFileSync(path);
  const second = 8 + bytes.readUInt32BE(0);
  bytes[second + 12] ^= 0x20;
  writeFileSync(path, bytes);
  return { bytes, second };
}

describe('loadDataDir', () => {
  it('starts an empty directory from nothing, and creates a missing one', async () => {
    const dir = join(tempDir(), 'fresh');
    const { report, registry } = await load(dir);
    expect(existsSync(dir)).toBe(true);
    expect(report.fatal).toBeUndefined();
    expect(report.next).toEqual({ seq: 1, validBytes: 0, exists: false });
    expect(registry.size).toBe(0);
  });

  it('replays every kind of effect into the right types', async () => {
    const dir = tempDir();
    writeSegment(dir, 1, SAMPLE);
    const { report, state, registry } = await load(dir);
    expect(report.fatal).toBeUndefined();
    expect(report.effects).toBe(17);
    expect([...state<DictState>('d')]).toEqual([['b', { nested: [1, 2] }]]);
    expect([...state<ListState>('l')]).toEqual(['x', 'z']);
    const queue = state<QueueState>('q');
    expect([queue.maxsize, queue.items.toArray(), queue.unfinished]).toEqual([5, ['job2'], 2]);
    expect(registry.peek('e')!.type.name).toBe('event');
    expect(state<{ flag: boolean }>('e').flag).toBe(true);
    expect(state<{ value: number }>('s').value).toBe(3);
    expect(state<LockState>('k').lastFence).toBe(1024);
  });

  it('drops a torn last record and says where the good part ends', async () => {
    const dir = tempDir();
    const path = writeSegment(dir, 1, SAMPLE);
    const good = readFileSync(path).length;
    appendFileSync(path, encodeRecord(JSON.stringify([['dset', 'd', 'late', 1]])).subarray(0, 13));
    const { report, state } = await load(dir);
    expect(report.fatal).toBeUndefined();
    expect(report.torn).toMatchObject({ offset: good, dropBytes: 13 });
    expect(report.next).toEqual({ seq: 1, validBytes: good, exists: true });
    expect(state<DictState>('d').has('late')).toBe(false);
  });

  it('reads zeros after the last record as the end of the log (preallocated space), not as damage', async () => {
    const dir = tempDir();
    const path = writeSegment(dir, 1, SAMPLE);
    const good = readFileSync(path).length;
    appendFileSync(path, Buffer.alloc(4096));
    writeSegment(dir, 2, []);
    appendFileSync(join(dir, segmentName(2)), Buffer.alloc(4096)); // a later segment with no record yet
    const { report } = await load(dir);
    expect(report.fatal).toBeUndefined();
    expect(report.torn).toBeUndefined();
    expect(report.segments[0]!.scan).toMatchObject({ validBytes: good, size: good + 4096, end: { kind: 'clean' } });
    expect(report.next).toEqual({ seq: 2, validBytes: 0, exists: true });
  });

  it('refuses a flipped byte in the middle, naming the file and the offset', async () => {
    const dir = tempDir();
    const path = writeSegment(dir, 1, SAMPLE);
    const { bytes, second } = flipByteInSecondRecord(path);
    const { report } = await load(dir);
    expect(report.fatal?.file).toBe(path);
    expect(report.fatal?.offset).toBe(second);
    expect(report.fatal?.message).toContain(`${path} is corrupt at offset ${second}`);
    expect(report.fatal?.repair).toMatchObject({ offset: second, dropBytes: bytes.length - second });
  });

  it('refuses an intact record that does not apply', async () => {
    const dir = tempDir();
    writeSegment(dir, 1, [[['create', 'dict', 'd', null]], [['lsplice', 'd', 0, 0, [1]]]]);
    const { report } = await load(dir);
    expect(report.fatal?.message).toMatch(/offset \d+ passed its checksum but does not apply \("d" is a dict, which has no change "lsplice"\)/);
  });

  it('loads a snapshot, then the segments from its number on', async () => {
    const dir = tempDir();
    const first = new Registry();
    writeSegment(dir, 1, SAMPLE);
    await loadDataDir(dir, first);
    await writeSnapshot(dir, 2, captureAll(first));
    writeSegment(dir, 2, [[['dset', 'd', 'after', true]], [['qpush', 'q', 'job3']]]);
    const { report, state } = await load(dir);
    expect(report.fatal).toBeUndefined();
    expect(report.snapshot?.objects).toBe(first.size);
    // Segment 1 is older than the snapshot: not replayed, listed for removal.
    expect(report.leftovers).toEqual([join(dir, segmentName(1))]);
    expect(state<DictState>('d').get('after')).toBe(true);
    expect(state<QueueState>('q').items.toArray()).toEqual(['job2', 'job3']);
    expect(state<QueueState>('q').unfinished).toBe(3);
  });

  it('round-trips every type through a snapshot', async () => {
    const dir = tempDir();
    writeSegment(dir, 1, SAMPLE);
    const original = (await load(dir)).registry;
    const other = tempDir();
    await writeSnapshot(other, 1, captureAll(original));
    writeSegment(other, 1, []);
    const copy = (await load(other)).registry;
    expect(captureAll(copy).map(toImage)).toEqual(captureAll(original).map(toImage));
  });

  it('refuses a log whose snapshot is missing', async () => {
    const dir = tempDir();
    writeSegment(dir, 3, [[['create', 'dict', 'd', null]]]);
    const { report } = await load(dir);
    expect(report.fatal?.message).toContain(`${snapshotName(3)} is missing`);
    expect(report.fatal?.repair).toBeUndefined();
  });

  it('refuses a snapshot whose log segment is missing, and a gap between segments', async () => {
    const dir = tempDir();
    await writeSnapshot(dir, 2, []);
    expect((await load(dir)).report.fatal?.message).toContain(`${segmentName(2)} is missing`);
    writeSegment(dir, 2, []);
    writeSegment(dir, 4, []);
    expect((await load(dir)).report.fatal?.message).toContain(`log segment ${segmentName(3)} is missing`);
  });

  it('refuses a damaged snapshot, naming the file and the offset', async () => {
    const dir = tempDir();
    const registry = new Registry();
    registry.resolve('dict', 'd');
    const { path } = await writeSnapshot(dir, 1, captureAll(registry));
    writeSegment(dir, 1, []);
    const bytes = readFileSync(path);
    bytes[bytes.length - 3] ^= 0x01; // inside the end record
    writeFileSync(path, bytes);
    const { report } = await load(dir);
    expect(report.fatal?.file).toBe(path);
    expect(report.fatal?.message).toMatch(/is damaged at offset \d+: checksum mismatch/);
  });

  it('calls damage in an older segment corrupt when a later one holds data', async () => {
    const dir = tempDir();
    const path = writeSegment(dir, 1, SAMPLE);
    appendFileSync(path, Buffer.from([0, 0, 0, 9, 1]));
    writeSegment(dir, 2, [[['dset', 'd', 'x', 1]]]);
    const { report } = await load(dir);
    expect(report.fatal?.file).toBe(path);
    expect(report.fatal?.message).toContain('later segments hold data');
  });

  it('lists the temporary file of an interrupted snapshot as a leftover', async () => {
    const dir = tempDir();
    writeSegment(dir, 1, []);
    writeFileSync(join(dir, `${snapshotName(2)}.tmp`), 'half');
    expect((await load(dir)).report.leftovers).toEqual([join(dir, `${snapshotName(2)}.tmp`)]);
  });
});

describe('checkDataDir --repair', () => {
  it('truncates at a flipped byte, keeps what it cut off, and leaves a loadable directory', async () => {
    const dir = tempDir();
    const path = writeSegment(dir, 1, SAMPLE);
    const { bytes, second } = flipByteInSecondRecord(path);
    writeSegment(dir, 2, [[['dset', 'd', 'x', 1]]]);
    expect((await checkDataDir(dir, false)).repaired).toEqual([]);
    const result = await checkDataDir(dir, true);
    expect(result.repaired[0]).toContain(`truncated ${path} to ${second} bytes`);
    expect(readFileSync(path).length).toBe(second);
    expect(readFileSync(`${path}.damaged-${second}`)).toEqual(bytes.subarray(second));
    expect(existsSync(`${join(dir, segmentName(2))}.damaged`)).toBe(true);
    expect(result.after?.fatal).toBeUndefined();
    const { state } = await load(dir);
    expect([...state<DictState>('d')]).toEqual([['a', 1]]);
  });

  it('truncates a torn tail', async () => {
    const dir = tempDir();
    const path = writeSegment(dir, 1, SAMPLE);
    const good = readFileSync(path).length;
    appendFileSync(path, Buffer.from('00000030', 'hex'));
    const result = await checkDataDir(dir, true);
    expect(result.report.torn?.offset).toBe(good);
    expect(readFileSync(path).length).toBe(good);
    expect(result.after?.torn).toBeUndefined();
  });

  it('refuses a directory that does not exist', async () => {
    await expect(checkDataDir(join(tempDir(), 'nope'), false)).rejects.toMatchObject({ code: 'DATA_CORRUPT' });
  });

  it('refuses a directory in use', async () => {
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    // This very process holds it.
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: process.ppid }));
    await expect(checkDataDir(dir, false)).rejects.toMatchObject({ code: 'DATA_DIR_LOCKED' });
  });
});
