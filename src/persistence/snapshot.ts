/**
 * Snapshot files: the state at one instant, as records (record.ts), so they are checksummed like
 * the log and can be written and read in slices.
 *
 *   {"syncmgr":"snapshot","version":1,"seq":7,"objects":2,"created":"..."}   header
 *   ["object","dict","counters",null,null]                                    one per object
 *   ["items","counters",[["hits",8],["misses",2]]]                            its items, in slices
 *   ["end",2]                                                                 trailer
 *
 * A snapshot is written to a temporary name, fsynced, renamed into place and the directory fsynced,
 * so one at its final name is complete; any damage in it is corruption, never a torn write.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Store } from '../core/store.js';
import { FILE_MODE, fsyncDir, snapshotName } from './files.js';
import { encodeRecords, RecordDecoder } from './record.js';
import { type CapturedObject, fillObject, ReplayError } from './state.js';

export const SNAPSHOT_VERSION = 1;
/** Items taken from a captured object at once (each is then serialized on its own). */
const SLICE_ITEMS = 1024;
/**
 * An `items` record is closed once its items' JSON reaches this many characters: records stay
 * small whatever the values, so no string ever holds more than one record (a whole slice of large
 * values would not fit in a string: V8's limit is about 512 Mi characters).
 */
const RECORD_CHARS = 1024 * 1024;
/** Buffered bytes written at once. */
const WRITE_BYTES = 1024 * 1024;
/** Longest stretch of serializing before letting the event loop serve requests again. */
const YIELD_AFTER_MS = 4;

interface SnapshotHeader {
  syncmgr: 'snapshot';
  version: number;
  seq: number;
  objects: number;
  created: string;
}

/**
 * Writes `objects` (captured at the start of log segment `seq`) as `snapshot-<seq>.snap` in `dir`:
 * temp file, fsync, rename, fsync of the directory. Serializes in slices, yielding to the event
 * loop every few milliseconds. Resolves with the file's size.
 */
export async function writeSnapshot(dir: string, seq: number, objects: readonly CapturedObject[]): Promise<{ path: string; bytes: number }> {
  const path = join(dir, snapshotName(seq));
  const temporary = `${path}.tmp`;
  const file = await open(temporary, 'w', FILE_MODE);
  let bytes = 0;
  try {
    let pending: string[] = [];
    let pendingChars = 0;
    let sliceStart = performance.now();
    const yieldIfDue = async (): Promise<void> => {
      if (performance.now() - sliceStart > YIELD_AFTER_MS) {
        await new Promise<void>((resolve) => setImmediate(resolve));
        sliceStart = performance.now();
      }
    };
    const emit = async (payload: string): Promise<void> => {
      pending.push(payload);
      pendingChars += payload.length;
      // Serializing a large value and encoding it are two long steps: clients are served between.
      await yieldIfDue();
      if (pendingChars >= WRITE_BYTES) await flush();
      await yieldIfDue();
    };
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const buffer = encodeRecords(pending);
      pending = [];
      pendingChars = 0;
      await file.write(buffer);
      bytes += buffer.length;
    };
    const header: SnapshotHeader = { syncmgr: 'snapshot', version: SNAPSHOT_VERSION, seq, objects: objects.length, created: new Date().toISOString() };
    await emit(JSON.stringify(header));
    for (const object of objects) {
      await emit(JSON.stringify(['object', object.type, object.name, object.init, object.meta]));
      const prefix = `["items",${JSON.stringify(object.name)},[`;
      let items: string[] = [];
      let itemChars = 0;
      for (let start = 0; start < object.count; start += SLICE_ITEMS) {
        for (const item of object.slice(start, Math.min(object.count, start + SLICE_ITEMS))) {
          // As JSON.stringify writes an array element: a value JSON cannot hold becomes null.
          const text = JSON.stringify(item) ?? 'null';
          items.push(text);
          itemChars += text.length + 1;
          if (itemChars >= RECORD_CHARS) {
            await emit(`${prefix}${items.join(',')}]]`);
            items = [];
            itemChars = 0;
          }
        }
        await yieldIfDue();
      }
      if (items.length > 0) await emit(`${prefix}${items.join(',')}]]`);
    }
    await emit(JSON.stringify(['end', objects.length]));
    await flush();
    await file.datasync();
  } catch (err) {
    await file.close().catch(() => {});
    await unlink(temporary).catch(() => {});
    throw err;
  }
  await file.close();
  await rename(temporary, path);
  await fsyncDir(dir);
  return { path, bytes };
}

/** Where a snapshot could not be read. */
export class SnapshotError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
    /** The record passed its checksum: it does not apply, which is a bug, not damage. */
    readonly intact = false,
  ) {
    super(`at offset ${offset}: ${reason}`);
  }
}

/**
 * Loads a snapshot file into `registry` (whose journal must be in replay mode).
 * @throws SnapshotError naming the offset of the first record that is damaged or does not apply.
 */
export async function loadSnapshot(path: string, registry: Store): Promise<{ seq: number; objects: number; bytes: number }> {
  const file = await open(path, 'r');
  const decoder = new RecordDecoder();
  const chunk = Buffer.allocUnsafe(WRITE_BYTES);
  let header: SnapshotHeader | undefined;
  let ended = false;
  let objects = 0;
  let bytes = 0;
  try {
    for (;;) {
      const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      bytes += bytesRead;
      const records = decoder.push(Buffer.from(chunk.subarray(0, bytesRead)));
      for (const { offset, payload } of records) {
        if (ended) throw new SnapshotError(offset, 'data after the end record', true);
        let value: unknown;
        try {
          value = JSON.parse(payload.toString('utf8'));
        } catch {
          throw new SnapshotError(offset, 'record is not JSON', true);
        }
        if (header === undefined) {
          header = checkHeader(value, offset);
          continue;
        }
        try {
          if (applySnapshotRecord(registry, value)) {
            ended = true;
            if ((value as unknown[])[1] !== objects) throw new ReplayError(`the end record counts ${(value as unknown[])[1]} objects, the file holds ${objects}`);
          } else if ((value as unknown[])[0] === 'object') {
            objects++;
          }
        } catch (err) {
          if (err instanceof ReplayError) throw new SnapshotError(offset, err.message, true);
          throw err;
        }
      }
      if (decoder.error !== undefined) throw new SnapshotError(decoder.error.offset, decoder.error.reason);
    }
  } finally {
    await file.close();
  }
  if (decoder.pendingBytes > 0) throw new SnapshotError(decoder.offset, `incomplete record (${decoder.pendingBytes} bytes) at the end`);
  if (header === undefined) throw new SnapshotError(0, 'empty file');
  if (!ended) throw new SnapshotError(decoder.offset, 'no end record: the snapshot is incomplete');
  return { seq: header.seq, objects, bytes };
}

function checkHeader(value: unknown, offset: number): SnapshotHeader {
  const header = value as Partial<SnapshotHeader> | null;
  if (header === null || typeof header !== 'object' || header.syncmgr !== 'snapshot') throw new SnapshotError(offset, 'not a syncmgr snapshot');
  if (header.version !== SNAPSHOT_VERSION) throw new SnapshotError(offset, `snapshot version ${header.version}; this server reads version ${SNAPSHOT_VERSION}`);
  if (typeof header.seq !== 'number') throw new SnapshotError(offset, 'header has no seq');
  return header as SnapshotHeader;
}

/** Applies one record after the header; true for the end record. */
function applySnapshotRecord(registry: Store, value: unknown): boolean {
  if (!Array.isArray(value)) throw new ReplayError('a snapshot record must be an array');
  switch (value[0]) {
    case 'object': {
      const [, type, name, init, meta] = value;
      if (typeof type !== 'string' || typeof name !== 'string') throw new ReplayError('object record without type and name');
      if (registry.peek(name) !== undefined) {
        // A condition's shared lock is created with the condition when it comes first.
        if (registry.peek(name)!.type.name !== type) throw new ReplayError(`${JSON.stringify(name)} appears twice`);
      } else {
        try {
          registry.resolve(type, name, init ?? undefined);
        } catch (err) {
          throw new ReplayError(`cannot create ${type} ${JSON.stringify(name)}: ${(err as Error).message}`);
        }
      }
      fillObject(registry, name, meta, null);
      return false;
    }
    case 'items':
      if (typeof value[1] !== 'string' || !Array.isArray(value[2])) throw new ReplayError('malformed items record');
      fillObject(registry, value[1], undefined, value[2]);
      return false;
    case 'end':
      return true;
    default:
      throw new ReplayError(`unknown snapshot record ${JSON.stringify(value[0])}`);
  }
}
