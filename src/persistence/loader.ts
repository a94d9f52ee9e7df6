/**
 * Reads a data directory back into a registry: the newest snapshot, then every log segment from
 * its number on, in order. Reports what it found instead of throwing, so the server (which refuses
 * damaged data) and `syncmgr check` (which describes and repairs it) share one reading.
 */
import { existsSync, statSync } from 'node:fs';
import type { AnyEffect } from '../core/effects.js';
import type { Store } from '../core/store.js';
import { createDataDir, type DataFile, listDataDir, segmentName, snapshotName } from './files.js';
import { hasRecords, type SegmentScan, scanSegment } from './segment-reader.js';
import { loadSnapshot, SnapshotError } from './snapshot.js';
import { applyEffect, ReplayError } from './state.js';

/** Damage that stops replay. */
export interface Fatal {
  readonly message: string;
  readonly file?: string;
  readonly offset?: number;
  /** What `check --repair` does about it; absent when it cannot. */
  readonly repair?: Truncation;
}

/** Cut `file` at `offset` (dropping the rest) and set aside the segments after it. */
export interface Truncation {
  readonly file: DataFile;
  readonly offset: number;
  readonly dropBytes: number;
  readonly later: readonly DataFile[];
}

export interface SegmentReport {
  readonly file: DataFile;
  readonly scan: SegmentScan;
}

export interface DataDirReport {
  readonly dir: string;
  readonly snapshot?: { readonly file: DataFile; readonly objects: number; readonly bytes: number };
  /** The segments replayed (or attempted), in order. */
  readonly segments: SegmentReport[];
  /** Files a finished compaction made useless, or a crash left half-written: safe to delete. */
  readonly leftovers: string[];
  /** Replay stopped here: the directory cannot be used as it is. */
  readonly fatal?: Fatal;
  /** A record torn by a crash at the end of the newest segment: dropped, and truncated at start. */
  readonly torn?: Truncation & { readonly reason: string };
  /** Where appends continue: the newest segment and the size of its good part. */
  readonly next: { readonly seq: number; readonly validBytes: number; readonly exists: boolean };
  /** Log bytes since the snapshot (what compaction would fold in). */
  readonly logBytes: number;
  /** Effects replayed. */
  readonly effects: number;
}

/**
 * Loads `dir` into `registry`, whose journal must ignore additions meanwhile. Creates `dir` if it
 * does not exist. Stops at the first damage that is not a torn tail and reports it in `fatal`.
 */
export async function loadDataDir(dir: string, registry: Store): Promise<DataDirReport> {
  if (!existsSync(dir)) createDataDir(dir);
  else if (!statSync(dir).isDirectory()) return empty(dir, { message: `${dir} is not a directory` });
  const listing = listDataDir(dir);
  const snapshotFile = listing.snapshots.at(-1);
  const leftovers = [...listing.temporary];
  let snapshot: DataDirReport['snapshot'];
  if (snapshotFile !== undefined) {
    try {
      const loaded = await loadSnapshot(snapshotFile.path, registry);
      if (loaded.seq !== snapshotFile.seq) throw new SnapshotError(0, `its header says it is snapshot ${loaded.seq}`);
      snapshot = { file: snapshotFile, objects: loaded.objects, bytes: loaded.bytes };
    } catch (err) {
      if (!(err instanceof SnapshotError)) throw err;
      if (err.intact) {
        return empty(dir, { message: notDamage(`snapshot ${snapshotFile.path}`, err.offset, err.reason), file: snapshotFile.path, offset: err.offset }, leftovers);
      }
      return empty(dir, {
        message: `snapshot ${snapshotFile.path} is damaged at offset ${err.offset}: ${err.reason}. A snapshot is never torn by a crash ` +
          '(it is written aside and renamed into place); restore from a dump (`syncmgr restore`) or move the directory away',
        file: snapshotFile.path,
        offset: err.offset,
      }, leftovers);
    }
    for (const older of listing.snapshots.slice(0, -1)) leftovers.push(older.path);
  }
  const base = snapshotFile?.seq ?? 1;
  const live = listing.segments.filter((segment) => segment.seq >= base);
  for (const segment of listing.segments) if (segment.seq < base) leftovers.push(segment.path);

  const first = live[0];
  if (snapshotFile === undefined && first !== undefined && first.seq !== 1) {
    return empty(dir, {
      message: `${first.path} is the oldest log segment, but ${snapshotName(first.seq)} is missing: the changes before that segment ` +
        'were compacted into that snapshot, and without it they are lost. Put the snapshot back, or restore from a dump',
      file: first.path,
    }, leftovers);
  }
  if (snapshotFile !== undefined && (first === undefined || first.seq !== base)) {
    return empty(dir, {
      message: `${snapshotFile.path} is the newest snapshot, but its log segment ${segmentName(base)} is missing: ` +
        'changes made after the snapshot are lost. Put the segment back, or restore from a dump',
      file: snapshotFile.path,
    }, leftovers);
  }
  for (let i = 1; i < live.length; i++) {
    if (live[i]!.seq !== live[i - 1]!.seq + 1) {
      return empty(dir, { message: `log segment ${segmentName(live[i - 1]!.seq + 1)} is missing (between ${live[i - 1]!.name} and ${live[i]!.name})` }, leftovers);
    }
  }

  const segments: SegmentReport[] = [];
  let effects = 0;
  let logBytes = 0;
  let torn: DataDirReport['torn'];
  let fatal: Fatal | undefined;
  for (let index = 0; index < live.length && fatal === undefined; index++) {
    const file = live[index]!;
    const later = live.slice(index + 1);
    let applyFailure: { offset: number; message: string } | undefined;
    const scan = await scanSegment(file.path, ({ offset, payload }) => {
      if (applyFailure !== undefined) return;
      try {
        effects += replayRecord(registry, payload);
      } catch (err) {
        if (!(err instanceof ReplayError)) throw err;
        applyFailure = { offset, message: err.message };
      }
    });
    segments.push({ file, scan });
    if (applyFailure !== undefined) {
      // No repair: cutting there would drop this and every later acknowledged change, all intact.
      fatal = { message: notDamage(file.path, applyFailure.offset, applyFailure.message), file: file.path, offset: applyFailure.offset };
      break;
    }
    logBytes += scan.validBytes;
    if (scan.end.kind === 'clean') continue;
    const { offset, bytes, reason } = scan.end;
    let laterHasData = false;
    for (const segment of later) laterHasData ||= await hasRecords(segment.path);
    if (scan.end.kind === 'torn' && !laterHasData) {
      torn = { file, offset, dropBytes: bytes, later, reason };
      continue;
    }
    fatal = {
      message: `${file.path} is corrupt at offset ${offset} (${reason}); ${laterHasData ? 'later segments hold data' : scan.end.why}, ` +
        'so this is not a write torn by a crash',
      file: file.path,
      offset,
      repair: { file, offset, dropBytes: bytes, later },
    };
  }
  const last = live.at(-1);
  const lastScan = segments.at(-1);
  return {
    dir,
    ...(snapshot !== undefined && { snapshot }),
    segments,
    leftovers,
    ...(fatal !== undefined && { fatal }),
    ...(torn !== undefined && { torn }),
    next: last === undefined
      ? { seq: base, validBytes: 0, exists: false }
      : { seq: last.seq, validBytes: last === torn?.file ? torn.offset : last === lastScan?.file ? lastScan.scan.validBytes : 0, exists: true },
    logBytes,
    effects,
  };
}

/** Applies one log record (a JSON array of effects); returns how many. */
function replayRecord(registry: Store, payload: Buffer): number {
  let effects: unknown;
  try {
    effects = JSON.parse(payload.toString('utf8'));
  } catch {
    throw new ReplayError('the record is not JSON');
  }
  if (!Array.isArray(effects)) throw new ReplayError('a log record must be an array of effects');
  for (const effect of effects) applyEffect(registry, effect as AnyEffect);
  return effects.length;
}

/**
 * The message for a record that passed its checksum yet does not apply. The bytes are what the
 * server wrote, so the server wrote (or now reads) them wrongly: a bug, and the data is not to be
 * cut, since every later change is intact too.
 */
function notDamage(file: string, offset: number, reason: string): string {
  return `${file}: the record at offset ${offset} passed its checksum but does not apply (${reason}). ` +
    'This is a bug in syncmgr, not damage to the data: please report it to the syncmgr maintainers ' +
    'with this message, and keep a copy of the directory. Nothing was changed, and `syncmgr check --repair` will not cut ' +
    'intact records; a server of the version that wrote the directory may still load it (then take a dump)';
}

function empty(dir: string, fatal: Fatal, leftovers: string[] = []): DataDirReport {
  return { dir, segments: [], leftovers, fatal, next: { seq: 1, validBytes: 0, exists: false }, logBytes: 0, effects: 0 };
}
