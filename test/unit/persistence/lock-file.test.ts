/** The data directory's lock file: one owner, stale locks taken over, never someone else's removed. */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lockDataDir } from '../../../src/persistence/lock-file.js';
import { tempDir } from '../../helpers/server.js';

/** A pid no process has: above Linux's default pid_max (2^22). */
const GONE = 4194305;

describe('lockDataDir', () => {
  it('writes our pid, and release removes the file', () => {
    const dir = tempDir();
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(existsSync(lock.path)).toBe(false);
    expect(readdirSync(dir)).toEqual([]); // no draft or stale files left behind
  });

  it('refuses a directory this process already holds', () => {
    const dir = tempDir();
    const lock = lockDataDir(dir);
    expect(() => lockDataDir(dir)).toThrow(expect.objectContaining({ code: 'DATA_DIR_LOCKED' }));
    lock.release();
  });

  it('refuses a directory held by a running process, naming it', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: process.ppid }));
    expect(() => lockDataDir(dir)).toThrow(`in use by process ${process.ppid}`);
    // Its lock is untouched.
    expect(JSON.parse(readFileSync(join(dir, 'LOCK'), 'utf8')).pid).toBe(process.ppid);
  });

  it('takes over the lock of a process that is gone, with a warning', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: GONE }));
    const warnings: string[] = [];
    const lock = lockDataDir(dir, (line) => warnings.push(line));
    expect(warnings).toEqual([`removed a stale lock on ${dir}: process ${GONE} is gone (it did not shut down cleanly)`]);
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('takes over a lock whose pid was reused by another process (its start time differs)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'LOCK'), JSON.stringify({ pid: process.ppid, start: '1' }));
    const lock = lockDataDir(dir);
    expect(JSON.parse(readFileSync(lock.path, 'utf8')).pid).toBe(process.pid);
    lock.release();
  });

  it('takes over an unreadable lock (a crash while it was being written)', () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'LOCK'), '{"pi');
    const lock = lockDataDir(dir);
    lock.release();
  });

  it('does not remove a lock that is no longer ours', () => {
    const dir = tempDir();
    const lock = lockDataDir(dir);
    writeFileSync(lock.path, JSON.stringify({ pid: process.ppid }));
    lock.release();
    expect(existsSync(lock.path)).toBe(true);
  });
});
