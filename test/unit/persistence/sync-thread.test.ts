/**
 * The real fsync thread on real files: it syncs as far as asked, reports in order, goes idle,
 * moves to another file only when nothing is owed, and reports a failing fdatasync once.
 */
import { closeSync, mkdtempSync, openSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type BackgroundSync, startSyncThread } from '../../../src/persistence/sync-thread.js';

describe('startSyncThread', () => {
  let dir: string;
  const fds: number[] = [];
  const threads: BackgroundSync[] = [];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'syncmgr-sync-thread-'));
  });

  afterEach(async () => {
    await Promise.all(threads.splice(0).map((thread) => thread.stop()));
    for (const fd of fds.splice(0)) closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  function file(name: string): number {
    const fd = openSync(join(dir, name), 'w');
    fds.push(fd);
    return fd;
  }

  function start(fd: number): { thread: BackgroundSync; synced: number[]; errors: Error[] } {
    const synced: number[] = [];
    const errors: Error[] = [];
    const thread = startSyncThread(fd, { onSynced: (mark) => synced.push(mark), onError: (err) => errors.push(err) });
    threads.push(thread);
    return { thread, synced, errors };
  }

  it('syncs as far as it is asked, reports each mark once and in order, then is idle', async () => {
    const fd = file('a');
    const { thread, synced, errors } = start(fd);
    await thread.idle(); // nothing asked yet
    expect(synced).toEqual([]);
    writeSync(fd, 'one');
    thread.request(1);
    await thread.idle();
    expect(synced).toEqual([1]);
    for (let mark = 2; mark <= 50; mark++) {
      writeSync(fd, `record ${mark}`);
      thread.request(mark);
    }
    thread.request(7); // behind what was asked: changes nothing
    await thread.idle();
    // Requests made while a sync runs share the next one: fewer syncs than requests, last one 50.
    expect(synced.at(-1)).toBe(50);
    expect(synced.length).toBeLessThan(50);
    expect([...synced].sort((a, b) => a - b)).toEqual(synced);
    expect(new Set(synced).size).toBe(synced.length);
    expect(errors).toEqual([]);
  });

  it('moves to another file only when nothing is owed to the current one', async () => {
    const first = file('first');
    const second = file('second');
    const { thread, synced, errors } = start(first);
    writeSync(first, 'x');
    thread.request(1);
    expect(() => thread.retarget(second)).toThrow(/owed/);
    await thread.idle();
    thread.retarget(second);
    writeSync(second, 'y');
    thread.request(2);
    await thread.idle();
    expect(synced.at(-1)).toBe(2);
    expect(errors).toEqual([]);
  });

  it('reports a failing fdatasync once; later requests are ignored and idle() does not hang', async () => {
    // Far above any descriptor this process can have open (so never reused): EBADF.
    const { thread, synced, errors } = start(1 << 24);
    thread.request(1);
    await thread.idle();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'EBADF' });
    thread.request(2);
    await thread.idle();
    expect(synced).toEqual([]);
    expect(errors).toHaveLength(1);
  });

  it('stops: requests after stop() are ignored', async () => {
    const fd = file('b');
    const { thread, synced } = start(fd);
    await thread.stop();
    thread.request(1);
    await thread.idle();
    await thread.stop(); // twice is fine
    expect(synced).toEqual([]);
  });
});
