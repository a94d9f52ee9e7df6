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

/** Creates `dir` (and missing parents, with the default mode) if needed; a new one is {@link DIR_MODE}. */
export function createDataDir(dir: string): void {
  mkdirSync(dirname(dir), { recursive: true });
  try {
    mkdirSync(dir, { mode: DIR_MODE });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
}

/** Whether `name` is a file a data directory's server or `check` writes (see the top of this file). */
function isDataDirFile(name: string): boolean {
  const base = name.replace(/\.(?:tmp|(?:damaged|dropped)-\d+(?:\.\d+)?)$/, '');
  return base === LOCK_FILE || /^LOCK\.\d+$/.test(base) || SEGMENT.test(base) || SNAPSHOT.test(base);
}

/**
 * Takes group and other permissions off syncmgr's own files in `dir`, and off `dir` itself when
 * nothing else is in it (files left readable by an older version or a copy). Other files are
 * never touched: `--data-dir ~` must not change the modes of a home directory's scripts. Call it
 * holding the directory's lock, so that no server is writing there meanwhile.
 * @returns the paths whose mode was narrowed (for a log line).
 */
export function makePrivateDir(dir: string, warn: (line: string) => void = () => {}): string[] {
  const narrowed: string[] = [];
  const narrow = (path: string): void => {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (stat === undefined || (stat.mode & 0o077) === 0) return;
    try {
      chmodSync(path, stat.mode & 0o700);
      narrowed.push(path);
    } catch (err) {
      // Not ours to change (another owner): say so rather than refuse to serve.
      warn(`cannot make ${path} private (${(err as Error).message}): other users may be able to read it`);
    }
  };
  const names = readdirSync(dir);
  const others = names.filter((name) => !isDataDirFile(name));
  for (const name of names) if (!others.includes(name)) narrow(join(dir, name));
  if (others.length === 0) narrow(dir);
  else if ((statSync(dir).mode & 0o077) !== 0) {
    warn(`${dir} holds other files and other users may list it; syncmgr's files in it are private, but a directory of its own is safer`);
  }
  return narrowed;
}
