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
import { chmodSync, closeSync, fsyncSync, mkdirSync, openSync, readdirSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';

export const LOCK_FILE = 'LOCK';
/**
 * The directory and every file in it hold the stored values: only the server's user may read
 * them, whatever its umask. Files are created with FILE_MODE (the umask can only narrow it).
 */
export const DIR_MODE = 0o700;
export const FILE_MODE = 0o600;
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

/**
 * Creates `dir` (and missing parents, with the default mode) if needed, and makes it and every
 * file in it private: {@link DIR_MODE}, {@link FILE_MODE}. Files left readable by an older version
 * or a copy are narrowed too.
 * @returns the paths whose mode was narrowed (for a log line).
 */
export function makePrivateDir(dir: string, warn: (line: string) => void = () => {}): string[] {
  mkdirSync(dirname(dir), { recursive: true });
  try {
    mkdirSync(dir, { mode: DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const narrowed: string[] = [];
  const narrow = (path: string, mode: number): void => {
    const stat = statSync(path);
    if ((stat.mode & 0o777) === mode || !(stat.isFile() || stat.isDirectory())) return;
    try {
      chmodSync(path, mode);
      narrowed.push(path);
    } catch (err) {
      // Not ours to change (another owner): say so rather than refuse to serve.
      warn(`cannot make ${path} private (${(err as Error).message}): other users may be able to read it`);
    }
  };
  if (!statSync(dir).isDirectory()) return narrowed;
  narrow(dir, DIR_MODE);
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isFile()) narrow(path, FILE_MODE);
  }
  return narrowed;
}
