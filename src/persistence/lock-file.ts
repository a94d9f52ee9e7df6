/**
 * One server per data directory. The LOCK file holds the owner's pid (and, on Linux, the process
 * start time, so a pid reused by another process after a crash is not mistaken for the owner).
 * A lock whose process is gone is stale and taken over.
 */
import { hostname } from 'node:os';
import { linkSync, readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PersistenceError } from '../errors.js';
import { FILE_MODE, LOCK_FILE } from './files.js';

interface LockInfo {
  pid: number;
  /** /proc/<pid>/stat start time (clock ticks since boot), when known. */
  start?: string;
  host?: string;
  since?: string;
}

/** The start time of process `pid` from /proc, or undefined where there is no /proc. */
function processStart(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: count fields after the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote `info` is still running. */
function isAlive(info: LockInfo): boolean {
  // Never probe pid 0 or negative pids: kill() would address a process group, or every process.
  if (!Number.isSafeInteger(info.pid) || info.pid <= 0) return false;
  if (info.host !== undefined && info.host !== hostname()) return true; // cannot tell: assume so
  try {
    process.kill(info.pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (info.start === undefined) return true;
  const start = processStart(info.pid);
  return start === undefined || start === info.start;
}

function readLock(path: string): LockInfo | undefined {
  try {
    const info = JSON.parse(readFileSync(path, 'utf8')) as LockInfo;
    return typeof info?.pid === 'number' ? info : { pid: -1 };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    // Unreadable or half-written (a crash while creating it): nobody can be proven to own it.
    return { pid: -1 };
  }
}

/** A held data-directory lock. */
export interface DirLock {
  readonly path: string;
  /** Removes the lock file if it is still ours. */
  release(): void;
}

/**
 * Takes the lock on `dir`.
 * @param warn receives a line when a stale lock is taken over.
 * @throws PersistenceError DATA_DIR_LOCKED when a running process holds it.
 */
export function lockDataDir(dir: string, warn: (line: string) => void = () => {}): DirLock {
  const path = join(dir, LOCK_FILE);
  const mine: LockInfo = { pid: process.pid, host: hostname(), since: new Date().toISOString() };
  const start = processStart(process.pid);
  if (start !== undefined) mine.start = start;
  const text = `${JSON.stringify(mine)}\n`;
  // Written under a private name and linked into place: link() fails if LOCK exists, so exactly
  // one process can create it, and nobody ever reads a half-written lock.
  const draft = join(dir, `${LOCK_FILE}.${process.pid}.tmp`);
  writeFileSync(draft, text, { mode: FILE_MODE });
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        linkSync(draft, path);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      }
      const holder = readLock(path);
      if (holder === undefined) continue; // released meanwhile: try again
      if (holder.pid === process.pid && holder.start === mine.start) {
        throw new PersistenceError('DATA_DIR_LOCKED', `data directory ${dir} is already open in this process`);
      }
      if (isAlive(holder)) {
        throw new PersistenceError(
          'DATA_DIR_LOCKED',
          `data directory ${dir} is in use by process ${holder.pid}${holder.host ? ` on ${holder.host}` : ''} (lock file ${path}); ` +
            'stop that server first, or use another --data-dir',
        );
      }
      takeOverStale(dir, path, holder);
      warn(`removed a stale lock on ${dir}: process ${holder.pid} is gone (it did not shut down cleanly)`);
    }
  } finally {
    unlinkSync(draft);
  }
  return {
    path,
    release() {
      const holder = readLock(path);
      if (holder?.pid === process.pid) unlinkSync(path);
    },
  };
}

/**
 * Moves a stale lock out of the way. Two processes may judge the same lock stale at once: the
 * lock is first renamed to a name of our own, which only one of them can do, and if what we moved
 * turns out to be a fresh lock (someone else won and locked already) it is linked back.
 */
function takeOverStale(dir: string, path: string, stale: LockInfo): void {
  const aside = join(dir, `${LOCK_FILE}.${process.pid}.stale`);
  try {
    renameSync(path, aside);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return; // someone else moved it
    throw err;
  }
  const moved = readLock(aside);
  if (moved !== undefined && (moved.pid !== stale.pid || moved.start !== stale.start)) {
    try {
      linkSync(aside, path);
    } catch {
      // A third process locked meanwhile: it holds the lock; ours will fail with EEXIST.
    }
  }
  unlinkSync(aside);
}
