/**
 * The files of a data directory, and the few file-system steps that must happen in a precise way
 * (fsync of a directory after a rename or a new file).
 *
 *   LOCK                       the running server's pid (lock-file.ts)
 *   snapshot-0000000007.snap   state as of the start of log segment 7
 *   log-0000000007.aof         changes since that snapshot, in records of whole requests
 *   log-0000000008.aof         ... the next segment, started by a compaction
 *   *.tmp                      a snapshot being written (left behind only by a crash: removed)
 *
 * State = the newest snapshot (if any) + every segment numbered from it onwards, in order.
 */
import { closeSync, fsyncSync, openSync, readdirSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

export const LOCK_FILE = 'LOCK';
const SEGMENT = /^log-(\d{10})\.aof$/;
const SNAPSHOT = /^snapshot-(\d{10})\.snap$/;

export function segmentName(seq: number): string {
  return `log-${String(seq).padStart(10, '0')}.aof`;
}

export function snapshotName(seq: number): string {
  return `snapshot-${String(seq).padStart(10, '0')}.snap`;
}

export interface DataFile {
  readonly seq: number;
  readonly name: string;
  readonly path: string;
}

export interface DataDirListing {
  /** Ascending by seq. */
  readonly segments: DataFile[];
  /** Ascending by seq. */
  readonly snapshots: DataFile[];
  /** Leftover temporary files of an interrupted snapshot. */
  readonly temporary: string[];
}

/** Lists the data files in `dir` (which must exist). */
export function listDataDir(dir: string): DataDirListing {
  const segments: DataFile[] = [];
  const snapshots: DataFile[] = [];
  const temporary: string[] = [];
  for (const name of readdirSync(dir)) {
    const segment = SEGMENT.exec(name);
    const snapshot = SNAPSHOT.exec(name);
    if (segment !== null) segments.push({ seq: Number(segment[1]), name, path: join(dir, name) });
    else if (snapshot !== null) snapshots.push({ seq: Number(snapshot[1]), name, path: join(dir, name) });
    else if (name.endsWith('.tmp')) temporary.push(join(dir, name));
  }
  segments.sort((a, b) => a.seq - b.seq);
  snapshots.sort((a, b) => a.seq - b.seq);
  return { segments, snapshots, temporary };
}

/**
 * Makes the directory's entries durable (a new file, a rename, a removal): without this a crash
 * can lose a file whose contents were fsynced. Linux lets a directory be opened and fsynced.
 */
export async function fsyncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** {@link fsyncDir}, synchronously: for start-up and the CLI, never while serving. */
export function fsyncDirSync(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
