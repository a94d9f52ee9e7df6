/**
 * A server's data directory while it runs: loads it at start, journals every change into the log
 * (a record holds whole requests and atomic batches: those made while it waits for its write, see
 * effect-batch.ts), compacts the log into a snapshot in the background, and closes it cleanly. It
 * is the server's {@link RequestJournal}.
 */
import { close, fstat, ftruncate, fsync, open, read, unlinkSync, write } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { PersistenceError } from '../errors.js';
import type { AnyEffect, RequestJournal } from '../core/effects.js';
import type { Store as ObjectStore } from '../core/store.js';
import { EffectBatch } from './effect-batch.js';
import { createDataDir, FILE_MODE, fsyncDir, listDataDir, makePrivateDir, segmentName } from './files.js';
import { type DataDirReport, loadDataDir } from './loader.js';
import { type DirLock, lockDataDir } from './lock-file.js';
import { type FsyncPolicy, LogWriter } from './log-writer.js';
import { writeSnapshot } from './snapshot.js';
import { captureAll } from './state.js';

const openFile = promisify(open);
const closeFile = promisify(close);
const truncateFile = promisify(ftruncate);
const syncFile = promisify(fsync);
const statFile = promisify(fstat);
const readFile = promisify(read);
const writeFile = promisify(write);

/** Default `compactAfterBytes`: 64 MiB of log. */
export const DEFAULT_COMPACT_AFTER_BYTES = 64 * 1024 * 1024;
/** A record still open to more requests takes none once it is about this large (characters). */
const MAX_OPEN_RECORD_CHARS = 1024 * 1024;
/** After a failed compaction, wait this long before trying again; doubled after each failure in a row. */
const COMPACTION_RETRY_MS = 30_000;
/** The longest wait between attempts, however many failed. */
const MAX_COMPACTION_RETRY_MS = 30 * 60_000;

export interface StoreOptions {
  dir: string;
  fsync: FsyncPolicy;
  /**
   * Compact once the log since the last snapshot is larger than this AND than that snapshot (so a
   * large state is not rewritten for every few changes: at most 2x write amplification).
   */
  compactAfterBytes?: number;
  log?: (line: string) => void;
  /** First wait after a failed compaction (ms, default 30 s); tests shorten it. */
  compactionRetryMs?: number;
  /** Writing the log failed: the server must stop serving (called once). */
  onFatal?: (err: PersistenceError) => void;
}

/** What one compaction did. */
export interface CompactionResult {
  seq: number;
  objects: number;
  /** Time the event loop was held to switch segments and capture the state. */
  pauseMs: number;
  snapshotBytes: number;
  /** Log bytes folded into the snapshot. */
  logBytes: number;
}

export class Store implements RequestJournal {
  readonly dir: string;
  readonly policy: FsyncPolicy;
  private readonly registry: ObjectStore;
  private readonly options: StoreOptions;
  private readonly lock: DirLock;
  private writer!: LogWriter;
  /** The log record that finished requests join until the writer takes it. */
  private openRecord: EffectBatch | undefined;
  /** Stops the subscription to the change stream. */
  private unsubscribe: () => void = () => {};
  /** Log bytes in segments before the current one that the next snapshot will fold in. */
  private olderLogBytes = 0;
  private snapshotBytes = 0;
  private compacting: Promise<CompactionResult | undefined> | undefined;
  private retryCompactionAt = 0;
  /** Compactions failed in a row: each doubles the wait before the next attempt. */
  private compactionFailures = 0;
  private closing = false;
  private failed = false;

  private constructor(registry: ObjectStore, options: StoreOptions, lock: DirLock) {
    this.registry = registry;
    this.options = options;
    this.dir = options.dir;
    this.policy = options.fsync;
    this.lock = lock;
  }

  /**
   * Locks `options.dir`, loads it into `registry` (which must be empty), then logs every change
   * `registry` commits (its change stream) until closed.
   * @throws PersistenceError DATA_DIR_LOCKED (another server has it), DATA_CORRUPT (damage other
   *   than a torn last record; the message names the file and offset).
   */
  static async open(registry: ObjectStore, options: StoreOptions): Promise<Store> {
    const log = options.log ?? (() => {});
    const { dir } = options;
    createDataDir(dir);
    const lock = lockDataDir(dir, (line) => log(`warning: ${line}`));
    const narrowed = makePrivateDir(dir, (line) => log(`warning: ${line}`));
    if (narrowed.length > 0) log(`warning: made ${narrowed.length === 1 ? narrowed[0] : `${narrowed.length} paths in ${dir}`} private (only this user may read the stored data)`);
    const store = new Store(registry, options, lock);
    try {
      const started = performance.now();
      const report = await loadDataDir(dir, registry);
      if (report.fatal !== undefined) throw corruptError(report);
      if (report.torn !== undefined) {
        const { file, offset, dropBytes, reason } = report.torn;
        const kept = await cutKeeping(file.path, offset, dropBytes, `${file.path}.dropped-${offset}`);
        log(`warning: ${file.path}: dropped a torn record at offset ${offset} (${dropBytes} bytes: ${reason}; a copy is in ${kept}); ` +
          'the server was stopped in the middle of writing it, so it was never acknowledged under --fsync always');
      }
      for (const path of report.leftovers) {
        unlinkSync(path);
        log(`removed ${path}: left over from an interrupted compaction`);
      }
      if (report.leftovers.length > 0) await fsyncDir(dir);
      const path = join(dir, segmentName(report.next.seq));
      const fd = await openFile(path, report.next.exists ? 'r+' : 'wx', FILE_MODE);
      if (!report.next.exists) await fsyncDir(dir);
      // Past the records there may be zeros preallocated by the previous run: written over.
      const allocated = (await statFile(fd)).size;
      store.olderLogBytes = report.logBytes - report.next.validBytes;
      store.snapshotBytes = report.snapshot?.bytes ?? 0;
      store.writer = new LogWriter(
        { seq: report.next.seq, fd, size: report.next.validBytes, allocated },
        { policy: options.fsync, onError: (err) => store.fail(err), onWritten: () => store.maybeCompact() },
      );
      // One log record per committed transaction (a request, a whole atomic batch, a restore).
      store.unsubscribe = registry.changes.subscribe((_revision, effects) => store.record(effects));
      log(`loaded ${dir} in ${Math.round(performance.now() - started)} ms: ${registry.size} objects ` +
        `(${report.snapshot === undefined ? 'no snapshot' : `${report.snapshot.file.name} with ${report.snapshot.objects}`}, ` +
        `${report.effects} changes replayed from ${report.segments.length} log segment(s)); fsync ${options.fsync}`);
      store.maybeCompact();
      return store;
    } catch (err) {
      lock.release();
      throw err;
    }
  }

  // RequestJournal: see core/effects.ts.

  get holdsAnswers(): boolean {
    return this.policy === 'always';
  }

  whenDurable(send: () => void): boolean {
    return this.writer.whenDurable(send);
  }

  /** Record counts: appended, handed to the OS, known to be on disk. */
  get counts(): { appended: number; written: number; durable: number } {
    return this.writer.counts;
  }

  /**
   * Folds the log into a new snapshot: switches appends to a new segment and captures the state in
   * one synchronous step (the only pause clients see), then writes the snapshot in the background
   * and deletes the files it replaces. Resolves with what it did (undefined if it did not run).
   */
  compact(): Promise<CompactionResult | undefined> {
    if (this.compacting !== undefined) return this.compacting;
    if (this.closing || this.failed) return Promise.resolve(undefined);
    const log = this.options.log ?? (() => {});
    this.compacting = this.runCompaction()
      .then((result) => {
        if (result !== undefined) this.compactionFailures = 0;
        return result;
      })
      .catch((err: unknown) => {
        // Each attempt costs a pass over the whole state: one that keeps failing (disk full, a
        // state that cannot be written) must not cost it again at every write.
        const first = this.options.compactionRetryMs ?? COMPACTION_RETRY_MS;
        const delay = Math.min(first * 2 ** this.compactionFailures, Math.max(first, MAX_COMPACTION_RETRY_MS));
        this.compactionFailures++;
        this.retryCompactionAt = Date.now() + delay;
        log(`warning: compaction failed (${this.compactionFailures} in a row; retrying in ${delay / 1000} s, the log keeps growing meanwhile): ${(err as Error).message}`);
        return undefined;
      })
      .finally(() => {
        this.compacting = undefined;
      });
    return this.compacting;
  }

  /** Writes out and syncs everything journaled, closes the log and releases the directory. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.compacting;
    this.unsubscribe();
    try {
      await this.writer.close();
    } finally {
      this.lock.release();
    }
  }

  /** Adds one whole request's effects to the open log record, appending a new one if needed. */
  private record(effects: readonly AnyEffect[]): void {
    let open = this.openRecord;
    if (open === undefined || open.sealed || open.size >= MAX_OPEN_RECORD_CHARS) {
      open = new EffectBatch();
      this.openRecord = open;
      this.writer.append(open);
    }
    open.add(effects);
  }

  private maybeCompact(): void {
    if (this.compacting !== undefined || this.closing || this.failed || Date.now() < this.retryCompactionAt) return;
    const logBytes = this.olderLogBytes + this.writer.segment.size;
    if (logBytes >= (this.options.compactAfterBytes ?? DEFAULT_COMPACT_AFTER_BYTES) && logBytes >= this.snapshotBytes) void this.compact();
  }

  private async runCompaction(): Promise<CompactionResult | undefined> {
    // The previous switch must be complete: one segment being finished at a time.
    await this.writer.sealed();
    const seq = this.writer.segment.seq + 1;
    const path = join(this.dir, segmentName(seq));
    const fd = await openFile(path, 'wx', FILE_MODE);
    try {
      // The new segment must survive a crash before anything acknowledged is written to it.
      await fsyncDir(this.dir);
    } catch (err) {
      await closeFile(fd).catch(() => {});
      throw err;
    }
    if (this.closing || this.failed) {
      await closeFile(fd);
      unlinkSync(path);
      return undefined;
    }
    // One synchronous step: every record appended before it is in the capture and goes to the old
    // segment; every one after it goes to the new segment, which the snapshot's replay starts at.
    const pauseStart = performance.now();
    const logBytes = this.olderLogBytes + this.writer.segment.size;
    // The open record belongs to the old segment: what follows goes to a new one.
    this.openRecord = undefined;
    this.writer.switchTo({ seq, fd, size: 0 });
    const captured = captureAll(this.registry);
    const pauseMs = performance.now() - pauseStart;
    this.olderLogBytes = 0;

    const written = performance.now();
    let bytes: number;
    try {
      ({ bytes } = await writeSnapshot(this.dir, seq, captured));
    } catch (err) {
      // No snapshot: the older segments stay, and the next compaction must still fold them in.
      this.olderLogBytes += logBytes;
      throw err;
    }
    this.snapshotBytes = bytes;
    const listing = listDataDir(this.dir);
    for (const file of [...listing.snapshots, ...listing.segments]) {
      if (file.seq < seq) unlinkSync(file.path);
    }
    await fsyncDir(this.dir);
    const result = { seq, objects: captured.length, pauseMs, snapshotBytes: bytes, logBytes };
    this.options.log?.(
      `compacted ${logBytes} bytes of log into snapshot ${seq} (${captured.length} objects, ${bytes} bytes): ` +
        `paused ${pauseMs.toFixed(1)} ms, wrote in ${Math.round(performance.now() - written)} ms`,
    );
    return result;
  }

  private fail(err: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.options.onFatal?.(new PersistenceError(
      'PERSISTENCE_FAILED',
      `writing the log in ${this.dir} failed (${err.message}): the server stops, since it can no longer promise what it acknowledges`,
      { cause: err },
    ));
  }
}

/** The error that keeps a server from starting on damaged data, with what to do about it. */
function corruptError(report: DataDirReport): PersistenceError {
  const fatal = report.fatal!;
  const repair = fatal.repair === undefined
    ? ''
    : ` \`syncmgr check --data-dir ${report.dir} --repair\` truncates the log there, dropping ${fatal.repair.dropBytes} bytes` +
      `${fatal.repair.later.length > 0 ? ` and ${fatal.repair.later.length} later segment(s)` : ''} (they are kept aside).`;
  return new PersistenceError('DATA_CORRUPT', `cannot load ${report.dir}: ${fatal.message}.${repair}`);
}

/**
 * Copies the `dropBytes` bytes of `path` from `offset` to a new file named `kept` (or `kept.2`, ...
 * when that exists: an earlier copy is never overwritten), then cuts them off. Resolves with the
 * copy's name.
 */
export async function cutKeeping(path: string, offset: number, dropBytes: number, kept: string): Promise<string> {
  const source = await openFile(path, 'r');
  let name = kept;
  try {
    const bytes = Buffer.alloc(dropBytes);
    await readFile(source, bytes, 0, dropBytes, offset);
    let copy: number | undefined;
    for (let n = 2; copy === undefined; n++) {
      try {
        copy = await openFile(name, 'wx', FILE_MODE);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        name = `${kept}.${n}`;
      }
    }
    try {
      await writeFile(copy, bytes);
      await syncFile(copy);
    } finally {
      await closeFile(copy);
    }
  } finally {
    await closeFile(source);
  }
  await fsyncDir(dirname(path));
  await truncate(path, offset);
  return name;
}

/** Cuts `path` to `size` bytes and syncs it. */
export async function truncate(path: string, size: number): Promise<void> {
  const fd = await openFile(path, 'r+');
  try {
    await truncateFile(fd, size);
    await syncFile(fd);
  } finally {
    await closeFile(fd);
  }
}
