/**
 * The log writer over a fake file system: batching, group commit under `always`, the everysec
 * timer, `no`, segment switches and failures, as the sequence of calls it makes.
 */
import { describe, expect, it, vi } from 'vitest';
import { type FsyncPolicy, LogWriter, WRITE_DELAY_MS, type WriterIO } from '../../../src/persistence/log-writer.js';
import { RecordDecoder } from '../../../src/persistence/record.js';
import type { BackgroundSync, BackgroundSyncEvents } from '../../../src/persistence/sync-thread.js';

/**
 * The sync thread as its contract has it: a sync starts when something is requested and none
 * runs, or the moment one ends if more was requested meanwhile; it covers all requested by then.
 */
class FakeBackgroundSync implements BackgroundSync {
  private wanted = 0;
  private synced = 0;
  private running = false;
  private ended = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private fd: number,
    private readonly io: FakeIO,
    private readonly events: BackgroundSyncEvents,
  ) {}

  request(mark: number): void {
    this.wanted = Math.max(this.wanted, mark);
    this.startIfOwed();
  }

  idle(): Promise<void> {
    if (this.ended || (!this.running && this.synced >= this.wanted)) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  retarget(fd: number): void {
    expect(this.running || this.synced < this.wanted).toBe(false);
    this.fd = fd;
  }

  stop(): Promise<void> {
    this.ended = true;
    this.io.calls.push(`stop sync thread`);
    return Promise.resolve();
  }

  private startIfOwed(): void {
    if (this.running || this.ended || this.synced >= this.wanted) return;
    this.running = true;
    const mark = this.wanted;
    this.io.queueSync(`sync ${this.fd} (thread, up to ${mark})`, (err) => {
      this.running = false;
      if (this.ended) return;
      if (err !== null) {
        this.ended = true;
        this.events.onError(err);
      } else {
        this.synced = mark;
        this.events.onSynced(mark);
        this.startIfOwed();
      }
      if (!this.running) for (const resolve of this.idleWaiters.splice(0)) resolve();
    });
  }
}

/** Records every call; syncs (and async writes) complete only when the test says so. */
class FakeIO implements WriterIO {
  readonly calls: string[] = [];
  readonly files = new Map<number, Buffer>();
  private readonly syncs: Array<(err: Error | null) => void> = [];
  failWrites = false;

  startBackgroundSync(fd: number, events: BackgroundSyncEvents): BackgroundSync {
    return new FakeBackgroundSync(fd, this, events);
  }

  /** Logs `call` and holds `done` until {@link finishSync}. */
  queueSync(call: string, done: (err: Error | null) => void): void {
    this.calls.push(call);
    this.syncs.push(done);
  }

  writeSync(fd: number, buffer: Buffer, offset: number, length: number, position: number): number {
    if (this.failWrites) throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
    this.store(fd, buffer.subarray(offset, offset + length), position);
    this.calls.push(`write ${fd} ${this.payloads(buffer.subarray(offset, offset + length)).join(',')}`);
    return length;
  }

  write(fd: number, buffer: Buffer, offset: number, length: number, position: number, done: (err: Error | null, written: number) => void): void {
    if (this.failWrites) return void setImmediate(() => done(new Error('EIO: i/o error'), 0));
    this.store(fd, buffer.subarray(offset, offset + length), position);
    this.calls.push(`write ${fd} ${this.payloads(buffer.subarray(offset, offset + length)).join(',')}`);
    setImmediate(() => done(null, length));
  }

  fdatasync(fd: number, done: (err: Error | null) => void): void {
    this.queueSync(`sync ${fd}`, done);
  }

  close(fd: number, done: (err: Error | null) => void): void {
    this.calls.push(`close ${fd}`);
    setImmediate(() => done(null));
  }

  ftruncate(fd: number, length: number, done: (err: Error | null) => void): void {
    this.calls.push(`truncate ${fd} ${length}`);
    this.files.set(fd, (this.files.get(fd) ?? Buffer.alloc(0)).subarray(0, length));
    setImmediate(() => done(null));
  }

  /** Completes the oldest pending sync. */
  finishSync(err: Error | null = null): void {
    const done = this.syncs.shift();
    if (done === undefined) throw new Error('no sync is pending');
    done(err);
  }

  get pendingSyncs(): number {
    return this.syncs.length;
  }

  private store(fd: number, bytes: Buffer, position: number): void {
    const file = this.files.get(fd) ?? Buffer.alloc(0);
    expect(position).toBeLessThanOrEqual(file.length); // no holes
    const grown = Buffer.concat([file, Buffer.alloc(Math.max(0, position + bytes.length - file.length))]);
    bytes.copy(grown, position);
    this.files.set(fd, grown);
  }

  private payloads(bytes: Buffer): string[] {
    if (bytes.length > 0 && bytes.every((byte) => byte === 0)) return [`${bytes.length} zeros`];
    return new RecordDecoder().push(Buffer.from(bytes)).map((record) => record.payload.toString());
  }
}

/** A record still open to more changes, as the store's EffectBatch is. */
class OpenRecord {
  readonly parts: string[] = [];
  sealedAs: string | undefined;

  seal(): string {
    this.sealedAs ??= `[${this.parts.join(',')}]`;
    return this.sealedAs;
  }
}

/** Appends an open record holding `parts` so far; more may join it until the writer seals it. */
function appendOpenRecord(log: LogWriter, ...parts: string[]): OpenRecord {
  const open = new OpenRecord();
  open.parts.push(...parts);
  log.append(open);
  return open;
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/** Long enough for the writer's scheduled write (at most WRITE_DELAY_MS away) and what follows it. */
const ticks = async (n = 5): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, WRITE_DELAY_MS + 2));
  for (let i = 0; i < n; i++) await tick();
};

function writer(policy: FsyncPolicy, io: FakeIO, extra: { syncIntervalMs?: number; errors?: Error[]; preallocateBytes?: number } = {}): LogWriter {
  return new LogWriter({ seq: 1, fd: 10, size: 0 }, {
    policy,
    io,
    preallocateBytes: extra.preallocateBytes ?? 0,
    onError: (err) => extra.errors?.push(err),
    ...(extra.syncIntervalMs !== undefined && { syncIntervalMs: extra.syncIntervalMs }),
  });
}

describe('LogWriter', () => {
  it('writes everything appended in one event-loop turn with one write', async () => {
    const io = new FakeIO();
    const log = writer('always', io);
    log.append('[1]');
    log.append('[2]');
    log.append('[3]');
    expect(io.calls).toEqual([]);
    await tick();
    expect(io.calls[0]).toBe('write 10 [1],[2],[3]');
    await ticks();
    expect(log.counts).toMatchObject({ appended: 3, written: 3 });
  });

  it('seals an open record when its write starts: what joined it before goes in, and answers wait for it', async () => {
    const io = new FakeIO();
    const log = writer('always', io);
    const open = appendOpenRecord(log, '1');
    open.parts.push('2');
    const sent: string[] = [];
    expect(log.whenDurable(() => sent.push('a'))).toBe(true);
    await tick();
    expect(open.sealedAs).toBe('[1,2]');
    expect(io.calls[0]).toBe('write 10 [1,2]');
    expect(log.counts).toMatchObject({ appended: 1, written: 1 });
    await ticks();
    expect(sent).toEqual([]);
    io.finishSync();
    await ticks();
    expect(sent).toEqual(['a']);
  });

  it('writes an open record appended before a segment switch to the old segment', async () => {
    const io = new FakeIO();
    const log = writer('no', io);
    appendOpenRecord(log, '1');
    log.switchTo({ seq: 2, fd: 11, size: 0 });
    log.append('[2]');
    await ticks();
    expect(io.calls.slice(0, 2)).toEqual(['write 10 [1]', 'sync 10']);
    io.finishSync();
    await ticks();
    expect(io.calls.slice(2)).toEqual(['close 10', 'write 11 [2]']);
  });

  it('without fsync always, gathers a few turns of appends (up to WRITE_DELAY_MS) into one write', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout'] });
    try {
      const io = new FakeIO();
      const log = writer('no', io);
      log.append('[1]');
      await tick();
      log.append('[2]');
      await tick();
      expect(io.calls).toEqual([]);
      vi.advanceTimersByTime(WRITE_DELAY_MS);
      await tick();
      expect(io.calls).toEqual(['write 10 [1],[2]']);
      expect(log.counts).toEqual({ appended: 2, written: 2, durable: 0 });
    } finally {
      vi.useRealTimers();
    }
  });

  describe('fsync always', () => {
    it('holds answers until their records are synced', async () => {
      const io = new FakeIO();
      const log = writer('always', io);
      const sent: string[] = [];
      log.append('[1]');
      expect(log.whenDurable(() => sent.push('a'))).toBe(true);
      await ticks();
      expect(io.calls).toEqual(['write 10 [1]', 'sync 10 (thread, up to 1)']);
      expect(sent).toEqual([]);
      io.finishSync();
      await ticks();
      expect(sent).toEqual(['a']);
      expect(log.whenDurable(() => sent.push('b'))).toBe(false); // nothing pending: answer at once
    });

    it('makes every write that arrives during a sync share the next one (group commit)', async () => {
      const io = new FakeIO();
      const log = writer('always', io);
      const sent: string[] = [];
      log.append('[1]');
      log.whenDurable(() => sent.push('first'));
      await ticks();
      // While the first sync runs, three more requests, in two turns.
      log.append('[2]');
      log.whenDurable(() => sent.push('second'));
      await ticks();
      log.append('[3]');
      log.append('[4]');
      log.whenDurable(() => sent.push('third'));
      await ticks();
      expect(io.calls).toEqual(['write 10 [1]', 'sync 10 (thread, up to 1)', 'write 10 [2]', 'write 10 [3],[4]']);
      expect(io.pendingSyncs).toBe(1);
      io.finishSync();
      await ticks();
      expect(sent).toEqual(['first']);
      expect(io.calls.slice(4)).toEqual(['sync 10 (thread, up to 4)']); // ONE sync for the three records
      io.finishSync();
      await ticks();
      expect(sent).toEqual(['first', 'second', 'third']);
      expect(log.counts).toEqual({ appended: 4, written: 4, durable: 4 });
    });

    it('keeps zeros written ahead of the records, and cuts them off at close', async () => {
      const io = new FakeIO();
      const log = writer('always', io, { preallocateBytes: 64 });
      log.append('[1]');
      await ticks();
      // The zeros go out before the sync, which then commits the file's size once.
      expect(io.calls).toEqual(['write 10 [1]', 'write 10 64 zeros', 'sync 10 (thread, up to 1)']);
      io.finishSync();
      await ticks();
      log.append('[2]'); // fits: written over the zeros, no new ones
      await ticks();
      expect(io.calls.slice(3)).toEqual(['write 10 [2]', 'sync 10 (thread, up to 2)']);
      io.finishSync();
      const closed = log.close();
      await ticks();
      io.finishSync();
      await closed;
      expect(io.calls.slice(5)).toEqual(['stop sync thread', 'truncate 10 22', 'sync 10', 'close 10']);
      expect(io.files.get(10)!.length).toBe(22);
    });

    it('never sends the held answers when a sync fails, and reports the failure', async () => {
      const io = new FakeIO();
      const errors: Error[] = [];
      const log = writer('always', io, { errors });
      const sent: string[] = [];
      log.append('[1]');
      log.whenDurable(() => sent.push('a'));
      await ticks();
      io.finishSync(new Error('EIO: i/o error'));
      await ticks();
      expect(sent).toEqual([]);
      expect(errors.map((err) => err.message)).toEqual(['EIO: i/o error']);
      log.append('[2]'); // ignored from now on
      await ticks();
      expect(io.calls).toEqual(['write 10 [1]', 'sync 10 (thread, up to 1)', 'stop sync thread']);
    });

    it('moves the sync thread to a new segment only once the old one is synced and closed', async () => {
      const io = new FakeIO();
      const log = writer('always', io);
      const sent: string[] = [];
      log.append('[1]');
      log.whenDurable(() => sent.push('a'));
      await ticks();
      log.append('[2]');
      log.whenDurable(() => sent.push('b'));
      log.switchTo({ seq: 2, fd: 20, size: 0 });
      log.append('[3]');
      log.whenDurable(() => sent.push('c'));
      await ticks();
      // [2] goes to the old segment, whose closing waits for the thread's running sync.
      expect(io.calls).toEqual(['write 10 [1]', 'sync 10 (thread, up to 1)', 'write 10 [2]']);
      io.finishSync();
      await ticks();
      expect(sent).toEqual(['a']);
      expect(io.calls.slice(3)).toEqual(['sync 10']); // the seal's own sync, then close
      io.finishSync();
      await ticks();
      expect(io.calls.slice(4)).toEqual(['close 10', 'write 20 [3]', 'sync 20 (thread, up to 3)']);
      expect(sent).toEqual(['a', 'b']);
      io.finishSync();
      await ticks();
      expect(sent).toEqual(['a', 'b', 'c']);
      expect(log.counts).toEqual({ appended: 3, written: 3, durable: 3 });
      await Promise.all([log.close(), ticks().then(() => io.finishSync())]);
    });
  });

  it('fsync everysec: syncs on its timer, only when something was written', async () => {
    const io = new FakeIO();
    const log = writer('everysec', io, { syncIntervalMs: 30 });
    expect(log.whenDurable(() => {})).toBe(false); // never holds answers
    log.append('[1]');
    await ticks();
    expect(io.calls).toEqual(['write 10 [1]']);
    await new Promise((resolve) => setTimeout(resolve, 45));
    expect(io.calls).toEqual(['write 10 [1]', 'sync 10']);
    io.finishSync();
    await new Promise((resolve) => setTimeout(resolve, 70));
    expect(io.calls).toEqual(['write 10 [1]', 'sync 10']); // nothing new: no sync
    expect(log.counts.durable).toBe(1);
    await Promise.all([log.close(), ticks().then(() => io.finishSync())]);
  });

  it('fsync no: never syncs while running; close writes, syncs and closes', async () => {
    const io = new FakeIO();
    const log = writer('no', io);
    log.append('[1]');
    await ticks();
    log.append('[2]');
    const closed = log.close();
    await ticks();
    io.finishSync();
    await closed;
    expect(io.calls).toEqual(['write 10 [1]', 'write 10 [2]', 'sync 10', 'close 10']);
  });

  it('switching segments finishes the old one (write, sync, close) before writing the new one', async () => {
    const io = new FakeIO();
    const log = writer('everysec', io, { syncIntervalMs: 60_000 });
    log.append('[1]');
    await ticks();
    log.append('[2]');
    log.switchTo({ seq: 2, fd: 20, size: 0 });
    log.append('[3]');
    await ticks();
    expect(io.calls).toEqual(['write 10 [1]', 'write 10 [2]', 'sync 10']);
    io.finishSync();
    await ticks();
    expect(io.calls).toEqual(['write 10 [1]', 'write 10 [2]', 'sync 10', 'close 10', 'write 20 [3]']);
    expect(log.segment.seq).toBe(2);
    expect(log.counts).toEqual({ appended: 3, written: 3, durable: 2 });
    await Promise.all([log.close(), ticks().then(() => io.finishSync())]);
  });

  it('reports a failed write once', async () => {
    const io = new FakeIO();
    const errors: Error[] = [];
    const log = writer('no', io, { errors });
    io.failWrites = true;
    log.append('[1]');
    await ticks();
    log.append('[2]');
    await ticks();
    expect(errors.map((err) => err.message)).toEqual(['ENOSPC: no space left on device']);
  });
});
