/**
 * Group commit's fdatasync, on a thread of its own. Under `--fsync always` every answer waits for
 * a sync, so what matters is how soon the next sync starts once one ends. Started from the event
 * loop (libuv's thread pool), it starts only when the loop has seen the last one end, and the loop
 * is busy answering, which leaves a gap between syncs and makes each look far slower to the loop
 * than a write + fdatasync alone (bench/NOTES.md, Durability). This thread starts the next sync
 * the moment one ends, covering whatever the loop has written by then, and tells the loop
 * afterwards; the loop only writes (to the page cache: a few µs, not held up by a running
 * fdatasync) and answers.
 *
 * The loop and the thread share three 64-bit slots: the file descriptor to sync, the highest record
 * sequence number written to it (the thread syncs whenever that is past what it last synced), and a
 * stop flag. The file descriptor changes only while the thread is idle ({@link BackgroundSync.retarget}),
 * so every number the thread reports belongs to the file it synced.
 */
import { Worker } from 'node:worker_threads';

/** Syncs one file from elsewhere, back to back, as far as it has been written. */
export interface BackgroundSync {
  /** Records up to sequence number `mark` are written: sync them (with any others in one sync). */
  request(mark: number): void;
  /** Resolves once everything requested is synced, or the syncing failed or stopped. */
  idle(): Promise<void>;
  /** Sync `fd` from now on. Only while {@link idle}: nothing requested may be left unsynced. */
  retarget(fd: number): void;
  stop(): Promise<void>;
}

export interface BackgroundSyncEvents {
  /** Everything up to `mark` is on disk. Called in increasing order of `mark`. */
  onSynced(mark: number): void;
  /** A sync failed; none follow. */
  onError(err: Error): void;
}

export type StartBackgroundSync = (fd: number, events: BackgroundSyncEvents) => BackgroundSync;

const FD = 0;
const WANTED = 1;
const STOP = 2;

/** The thread's program: a CommonJS script (`eval`), so it needs no file of its own next to ours. */
const THREAD_SOURCE = `
const { workerData: slots, parentPort } = require('node:worker_threads');
const { fdatasyncSync } = require('node:fs');
let synced = 0n;
while (Atomics.load(slots, ${STOP}) === 0n) {
  const wanted = Atomics.load(slots, ${WANTED});
  if (wanted === synced) {
    Atomics.wait(slots, ${WANTED}, wanted);
    continue;
  }
  try {
    fdatasyncSync(Number(Atomics.load(slots, ${FD})));
  } catch (err) {
    parentPort.postMessage({ message: err.message, code: err.code });
    break;
  }
  synced = wanted;
  parentPort.postMessage(synced);
}
`;

type ThreadMessage = bigint | { message: string; code?: string };

class SyncThread implements BackgroundSync {
  private readonly slots = new BigInt64Array(new SharedArrayBuffer(3 * BigInt64Array.BYTES_PER_ELEMENT));
  private readonly worker: Worker;
  private requested = 0;
  private synced = 0;
  private ended = false;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(fd: number, private readonly events: BackgroundSyncEvents) {
    Atomics.store(this.slots, FD, BigInt(fd));
    this.worker = new Worker(THREAD_SOURCE, { eval: true, workerData: this.slots });
    this.worker.on('message', (message: ThreadMessage) => this.received(message));
    this.worker.on('error', (err) => this.failed(err));
    this.worker.on('exit', (code) => {
      if (!this.ended) this.failed(new Error(`the fsync thread exited unexpectedly (code ${code})`));
    });
    // The server's lifetime is decided elsewhere; close() stops the thread.
    this.worker.unref();
  }

  request(mark: number): void {
    if (this.ended || mark <= this.requested) return;
    this.requested = mark;
    Atomics.store(this.slots, WANTED, BigInt(mark));
    Atomics.notify(this.slots, WANTED);
  }

  idle(): Promise<void> {
    if (this.ended || this.synced >= this.requested) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  retarget(fd: number): void {
    if (this.synced < this.requested && !this.ended) throw new Error('retarget while a sync is owed to the current file');
    Atomics.store(this.slots, FD, BigInt(fd));
  }

  async stop(): Promise<void> {
    if (this.ended) return;
    this.end();
    Atomics.store(this.slots, STOP, 1n);
    // terminate() also ends an Atomics.wait, so a stop flag set just after the thread looked at it is not missed.
    await this.worker.terminate();
  }

  private received(message: ThreadMessage): void {
    if (this.ended) return;
    if (typeof message !== 'bigint') {
      this.failed(Object.assign(new Error(message.message), message.code === undefined ? {} : { code: message.code }));
      return;
    }
    this.synced = Number(message);
    this.events.onSynced(this.synced);
    if (this.synced >= this.requested) this.wakeIdle();
  }

  private failed(err: Error): void {
    if (this.ended) return;
    this.end();
    void this.worker.terminate();
    this.events.onError(err);
  }

  private end(): void {
    this.ended = true;
    this.wakeIdle();
  }

  private wakeIdle(): void {
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

/** Starts a thread that fdatasyncs `fd` whenever asked; see the module comment. */
export const startSyncThread: StartBackgroundSync = (fd, events) => new SyncThread(fd, events);
