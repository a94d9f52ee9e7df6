/**
 * Appends records to the current log segment, batched: every record appended during one turn of
 * the event loop (under `always`; otherwise within a millisecond), and while the previous write
 * is in flight, goes out in ONE write.
 *
 * fsync policies (docs/PERSISTENCE.md says what each means for an acknowledgement):
 * - `always`: a thread of its own (sync-thread.ts) fdatasyncs the segment back to back: a sync
 *   starts as soon as the last one ended if anything was written meanwhile, and covers everything
 *   written by then (group commit). {@link whenDurable} holds responses until the records they may
 *   have observed are synced.
 * - `everysec`: one fdatasync per second, when something was written since the last.
 * - `no`: never (the OS writes back when it likes), except when a segment is sealed or closed.
 *
 * The event loop never waits for the disk: records are written to the page cache, which takes
 * microseconds; syncs, and the writes that extend a file, run on other threads.
 */
import { close, fdatasync, ftruncate, write, writeSync } from 'node:fs';
import { Deque } from '../util/deque.js';
import { encodeRecords } from './record.js';
import { type BackgroundSync, type StartBackgroundSync, startSyncThread } from './sync-thread.js';

export type FsyncPolicy = 'always' | 'everysec' | 'no';
const DEFAULT_PREALLOCATE_BYTES = 1024 * 1024;
/** Under `everysec` and `no`, how long appended records may wait in memory before their write. */
export const WRITE_DELAY_MS = 1;

let zeroBuffer: Buffer | undefined;
/** A shared, never written, zero-filled buffer of `bytes`. */
function zeroes(bytes: number): Buffer {
  if (zeroBuffer === undefined || zeroBuffer.length !== bytes) zeroBuffer = Buffer.alloc(bytes);
  return zeroBuffer;
}
export const FSYNC_POLICIES: readonly FsyncPolicy[] = ['always', 'everysec', 'no'];

/** The file-system calls the writer makes; tests substitute their own. */
export interface WriterIO {
  /** Synchronous write (page cache only, microseconds); returns the bytes written. */
  writeSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number;
  write(fd: number, buffer: Buffer, offset: number, length: number, position: number, done: (err: Error | null, written: number) => void): void;
  fdatasync(fd: number, done: (err: Error | null) => void): void;
  ftruncate(fd: number, length: number, done: (err: Error | null) => void): void;
  close(fd: number, done: (err: Error | null) => void): void;
  /** `always`'s group commit: syncs a segment from another thread as far as it is written. */
  startBackgroundSync: StartBackgroundSync;
}

const nodeIO: WriterIO = {
  writeSync: (fd, buffer, offset, length, position) => writeSync(fd, buffer, offset, length, position),
  write: (fd, buffer, offset, length, position, done) => write(fd, buffer, offset, length, position, done),
  fdatasync: (fd, done) => fdatasync(fd, done),
  ftruncate: (fd, length, done) => ftruncate(fd, length, done),
  close: (fd, done) => close(fd, done),
  startBackgroundSync: startSyncThread,
};

/** An open log segment. */
export interface SegmentFile {
  readonly seq: number;
  readonly fd: number;
  /** Bytes of records in the file (the next write goes here). */
  size: number;
  /** Bytes the file holds, zeros past `size` (preallocated); default `size`. */
  allocated?: number;
}

interface OpenSegment extends SegmentFile {
  allocated: number;
  /** Last record (writer sequence number) written to it, and synced. */
  writtenSeq: number;
  syncedSeq: number;
}

/**
 * A record's payload, or a record still open to more changes (persistence/effect-batch.ts): it is
 * sealed when the writer takes it for its write, and nothing is added after.
 */
export type Payload = string | { seal(): string };

/** A segment being finished after a switch: its last records, then fdatasync, then close. */
interface Seal {
  readonly segment: OpenSegment;
  readonly payloads: Payload[];
  readonly endSeq: number;
}

export interface LogWriterOptions {
  policy: FsyncPolicy;
  /** Called once if a write, sync or close fails: the log can no longer be trusted. */
  onError: (err: Error) => void;
  /** Called after each write to the current segment (see {@link LogWriter.segment}'s size). */
  onWritten?: () => void;
  /** everysec's interval (ms); tests shorten it. */
  syncIntervalMs?: number;
  /**
   * Under `always`, keep this many zero bytes written ahead of the records (default 1 MiB; 0:
   * none). Overwriting blocks that already exist lets fdatasync skip the file-system journal
   * commit a growing file needs: about half the latency on ext4, and under `always` every answer
   * waits for one. The zeros are cut off when the segment is closed.
   */
  preallocateBytes?: number;
  io?: WriterIO;
}

export class LogWriter {
  private readonly policy: FsyncPolicy;
  private readonly io: WriterIO;
  private readonly options: LogWriterOptions;
  private current: OpenSegment;
  private pending: Payload[] = [];
  private seal: Seal | undefined;
  /** Records appended, handed to the OS, and synced: sequence numbers 1, 2, ... */
  private appended = 0;
  private written = 0;
  private durable = 0;
  private readonly waiting = new Deque<{ seq: number; send: () => void }>();
  private running = false;
  private scheduled = false;
  private syncing: Promise<void> | undefined;
  /** Under `always`: the syncs of the current segment. */
  private readonly background: BackgroundSync | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failure: Error | undefined;
  private closed = false;
  private readonly preallocate: number;

  constructor(segment: SegmentFile, options: LogWriterOptions) {
    this.policy = options.policy;
    this.io = options.io ?? nodeIO;
    this.options = options;
    this.current = { ...segment, allocated: Math.max(segment.allocated ?? 0, segment.size), writtenSeq: 0, syncedSeq: 0 };
    this.preallocate = this.policy === 'always' ? (options.preallocateBytes ?? DEFAULT_PREALLOCATE_BYTES) : 0;
    if (this.policy === 'everysec') {
      this.timer = setInterval(() => this.sync(), options.syncIntervalMs ?? 1000);
      this.timer.unref();
    }
    if (this.policy === 'always') {
      this.background = this.io.startBackgroundSync(segment.fd, {
        onSynced: (mark) => this.markDurable(mark),
        onError: (err) => this.fail(err),
      });
    }
  }

  /** The segment appends go to. */
  get segment(): SegmentFile {
    return this.current;
  }

  /** Records appended so far, written to the OS, and known to be on disk. */
  get counts(): { appended: number; written: number; durable: number } {
    return { appended: this.appended, written: this.written, durable: this.durable };
  }

  /**
   * Appends one record (its payload). Under `always` it is written at the end of this event-loop
   * turn (an answer is waiting for it); otherwise within {@link WRITE_DELAY_MS}, so that a light
   * load (a few requests per turn) costs one write per millisecond rather than one per turn. An
   * open record is sealed when its write starts; {@link whenDurable} counts it from its append.
   */
  append(payload: Payload): void {
    if (this.failure !== undefined || this.closed) return;
    this.pending.push(payload);
    this.appended++;
    if (!this.running && !this.scheduled) {
      this.scheduled = true;
      if (this.policy === 'always') setImmediate(this.flushScheduled);
      else setTimeout(this.flushScheduled, WRITE_DELAY_MS);
    }
  }

  private readonly flushScheduled = (): void => {
    this.scheduled = false;
    this.kick();
  };

  /**
   * Under `always`: queues `send` until every record appended so far is synced, and returns true.
   * Otherwise, or when nothing is pending, returns false: send now.
   */
  whenDurable(send: () => void): boolean {
    if (this.policy !== 'always' || this.durable >= this.appended) return false;
    this.waiting.push({ seq: this.appended, send });
    return true;
  }

  /**
   * Sends later appends to `next`; the records appended until now still go to the current
   * segment, which is then synced and closed before anything is written to `next`, so a torn
   * write can only ever be at the end of the newest segment.
   */
  switchTo(next: SegmentFile): void {
    if (this.seal !== undefined) throw new Error('a segment switch is already in progress');
    this.seal = { segment: this.current, payloads: this.pending, endSeq: this.appended };
    this.pending = [];
    this.current = { ...next, allocated: Math.max(next.allocated ?? 0, next.size), writtenSeq: this.appended, syncedSeq: this.appended };
    this.kick();
  }

  /** Resolves once no segment switch is being finished (the old segment synced and closed). */
  async sealed(): Promise<void> {
    while (this.seal !== undefined && this.failure === undefined) await new Promise<void>((resolve) => setTimeout(resolve, 1));
  }

  /** Writes and syncs everything appended, then closes the segment. The writer is done after. */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    while (this.running || this.pending.length > 0 || this.seal !== undefined) {
      if (this.failure !== undefined) break;
      this.kick();
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    this.closed = true;
    if (this.failure !== undefined) {
      await this.background?.stop();
      await new Promise<void>((resolve) => this.io.close(this.current.fd, () => resolve()));
      throw this.failure;
    }
    await this.noSyncRunning();
    await this.background?.stop();
    await this.trimAndSync(this.current);
    this.markDurable(this.written);
    await this.call((done) => this.io.close(this.current.fd, done));
  }

  /** Resolves once no sync of the current segment runs or is owed. */
  private async noSyncRunning(): Promise<void> {
    await this.syncing;
    await this.background?.idle();
  }

  /** Cuts preallocated zeros off (if any), then fdatasyncs. */
  private async trimAndSync(segment: OpenSegment): Promise<void> {
    if (segment.allocated > segment.size) {
      await this.call((done) => this.io.ftruncate(segment.fd, segment.size, done));
      segment.allocated = segment.size;
    }
    await this.call((done) => this.io.fdatasync(segment.fd, done));
  }

  /** Starts the write loop unless it runs. */
  private kick(): void {
    if (this.running || this.failure !== undefined) return;
    this.running = true;
    this.run().then(
      () => {
        this.running = false;
        // Appends that arrived after the loop's last look.
        if ((this.pending.length > 0 || this.seal !== undefined) && !this.closed) this.kick();
      },
      (err: Error) => {
        this.running = false;
        this.fail(err);
      },
    );
  }

  private async run(): Promise<void> {
    for (;;) {
      if (this.seal !== undefined) {
        await this.finishSeal(this.seal);
        this.seal = undefined;
        continue;
      }
      if (this.pending.length === 0) return;
      const payloads = this.pending;
      this.pending = [];
      const endSeq = this.written + payloads.length;
      const segment = this.current;
      await this.writeAll(segment, encodeRecords(payloads.map(textOf)));
      this.written = endSeq;
      segment.writtenSeq = endSeq;
      this.options.onWritten?.();
      this.background?.request(endSeq);
    }
  }

  private async finishSeal(seal: Seal): Promise<void> {
    const { segment } = seal;
    if (seal.payloads.length > 0) {
      await this.writeAll(segment, encodeRecords(seal.payloads.map(textOf)));
      this.written = seal.endSeq;
      segment.writtenSeq = seal.endSeq;
    }
    // A sync started before the switch may still use this segment's fd: let it finish first.
    // (Syncs only ever start on the current segment, so no new one can begin on this fd.)
    await this.noSyncRunning();
    await this.trimAndSync(segment);
    segment.syncedSeq = seal.endSeq;
    this.markDurable(seal.endSeq);
    await this.call((done) => this.io.close(segment.fd, done));
    // The new segment has had no writes yet, so nothing is owed to the old one.
    this.background?.retarget(this.current.fd);
  }

  /**
   * everysec's sync: of what was written to the current segment and not yet synced, unless a sync
   * is running. A segment being sealed is synced by the seal itself; the current segment gets no
   * writes until that is done, so "durable" always grows as a prefix of the log.
   */
  private sync(): void {
    if (this.syncing !== undefined || this.failure !== undefined || this.closed) return;
    const segment = this.current;
    if (segment.writtenSeq <= segment.syncedSeq) return;
    const mark = segment.writtenSeq;
    this.syncing = this.call((done) => this.io.fdatasync(segment.fd, done)).then(
      () => {
        this.syncing = undefined;
        segment.syncedSeq = Math.max(segment.syncedSeq, mark);
        this.markDurable(mark);
      },
      (err: Error) => {
        this.syncing = undefined;
        this.fail(err);
      },
    );
  }

  /** Everything up to `seq` is on disk: release the responses waiting for it. */
  private markDurable(seq: number): void {
    if (seq <= this.durable) return;
    this.durable = seq;
    while (this.waiting.length > 0) {
      const next = this.waiting.shift()!;
      if (next.seq > seq) {
        this.waiting.unshift(next);
        return;
      }
      next.send();
    }
  }

  /**
   * Writes all of `buffer` at the segment's end (looping over short writes). A write to the page
   * cache costs microseconds, and one running fdatasync does not hold it up: it is made
   * synchronously, which saves a thread-pool round trip per batch. Zeros written ahead (`always`)
   * go to the thread pool.
   */
  private async writeAll(segment: OpenSegment, buffer: Buffer): Promise<number> {
    let offset = 0;
    while (offset < buffer.length) {
      const written = this.io.writeSync(segment.fd, buffer, offset, buffer.length - offset, segment.size);
      offset += written;
      segment.size += written;
    }
    segment.allocated = Math.max(segment.allocated, segment.size);
    if (this.preallocate > 0 && segment.size + this.preallocate / 2 > segment.allocated) {
      // Before the sync that follows, so it commits the file's new size once for the next MiB.
      const zeros = zeroes(this.preallocate);
      for (let done = 0; done < zeros.length; ) done += await this.writeAt(segment, zeros, done, segment.allocated + done);
      segment.allocated += zeros.length;
    }
    return buffer.length;
  }

  private writeAt(segment: OpenSegment, buffer: Buffer, offset: number, position: number): Promise<number> {
    return new Promise<number>((resolve, reject) =>
      this.io.write(segment.fd, buffer, offset, buffer.length - offset, position, (err, count) => (err ? reject(err) : resolve(count))));
  }

  private call(op: (done: (err: Error | null) => void) => void): Promise<void> {
    return new Promise((resolve, reject) => op((err) => (err ? reject(err) : resolve())));
  }

  private fail(err: Error): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    clearInterval(this.timer);
    void this.background?.stop();
    // Responses still waiting are never sent: their outcome is unknown to the clients.
    this.options.onError(err);
  }
}

function textOf(payload: Payload): string {
  return typeof payload === 'string' ? payload : payload.seal();
}
