/** Channel over a `net.Socket`: TCP and Unix sockets share the same byte-stream framing. */
// Buffer imported rather than the global, which is a getter called on every use.
import { Buffer } from 'node:buffer';
import { Socket, type SocketConstructorOpts } from 'node:net';
import { encodeFrame, FrameDecoder, FrameError, joinFrames } from '../protocol/frame.js';
import { BaseChannel, type Channel, PauseReason, type TransportKind, UNSENT_BYTES_LIMIT } from './channel.js';
import { PeerProgress } from './progress.js';

/** How long after our FIN we wait for the peer's before destroying the socket. */
const END_GRACE_MS = 2000;

/**
 * A turn's frames leave in slices of this many rather than all at its end: with 64 requests in
 * flight, the peer starts on the first answers while we still compute the rest, instead of the two
 * processes taking turns (with 64 in flight, slices of 8 to 32 frames did equally well; much
 * larger ones lose that).
 */
const FLUSH_AT_FRAMES = 16;

/**
 * The turn's frames also leave once they hold this many bytes (strings counted in characters):
 * gathering large answers saves no syscall, and written at once they count in the socket's unsent
 * bytes, which flush() compares with UNSENT_BYTES_LIMIT, after every large answer.
 */
const FLUSH_AT_BYTES = 64 * 1024;

/** Schedules a microtask without a new promise to resolve: see SocketChannel.enqueue. */
const RESOLVED = Promise.resolve();

/** Size of the one buffer every socket of this process reads into. */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * What every socket reads into: a read is handed to its channel, which uses it or copies what it
 * keeps before the callback returns, so one buffer serves every connection of the process (and
 * 10,000 idle connections hold no read buffer of their own).
 */
const sharedReadBuffer = Buffer.allocUnsafe(READ_BUFFER_BYTES);

/**
 * A socket's reads, into one buffer reused for every read (the `onread` option of net.Socket)
 * rather than a new Buffer per read passed through the readable-stream machinery, which cost about
 * as much as the rest of a bare request-answer round trip. A chunk is a view into that buffer,
 * valid until the callback returns.
 */
export class ReusedReadBuffer {
  private receiver: ((buffer: Buffer, length: number) => void) | undefined;
  /** Copies of what arrived before a receiver was set. */
  private early: Buffer[] = [];
  /** The `onread` option of net.connect() and new net.Socket(). */
  readonly onread = {
    buffer: sharedReadBuffer,
    /** Returns true: `false` would pause the socket (the channel pauses it itself when it must). */
    callback: (nread: number, buffer: Uint8Array): boolean => {
      if (this.receiver !== undefined) this.receiver(buffer as Buffer, nread);
      else this.early.push(Buffer.from(buffer.subarray(0, nread)));
      return true;
    },
  };

  /** Sets who gets the reads (a buffer and how many of its first bytes were read); hands it what arrived before. */
  setReceiver(receiver: (buffer: Buffer, length: number) => void): void {
    this.receiver = receiver;
    const early = this.early;
    this.early = [];
    for (const chunk of early) receiver(chunk, chunk.length);
  }
}

/**
 * A socket that net.Server accepted, remade to read through `onread`, or undefined when that cannot
 * be done (the socket is then left as it was). Node offers `onread` only to sockets made with it,
 * and net.Server makes its own; so the server listens with `pauseOnConnect` (nothing is read yet)
 * and the accepted socket's handle moves into a new Socket made with `onread`, as Node's
 * child_process makes a Socket of a handle it receives (`new net.Socket({ handle })`). Why:
 * the 'data' path (a 64 KiB malloc per read, an ArrayBuffer, the readable stream's push and
 * emit) made up about a quarter of the server's work per request.
 */
export function withReusedReads(accepted: Socket, reads: ReusedReadBuffer): Socket | undefined {
  const internals = accepted as unknown as { _handle: unknown };
  const handle = internals._handle;
  if (handle === null || typeof handle !== 'object' || accepted.destroyed) return undefined;
  let socket: Socket;
  try {
    // `handle` is not in the typings (nor documented), hence the fallback to 'data' events.
    socket = new Socket({ handle, onread: reads.onread, readable: true, writable: true } as SocketConstructorOpts);
  } catch {
    return undefined;
  }
  // The handle is the new socket's now: the accepted one closes without touching it (and counts
  // itself out of net.Server's connections, which the new socket was never counted in).
  internals._handle = null;
  accepted.destroy();
  return socket;
}

/**
 * The channel of a socket that a net.Server listening with `pauseOnConnect` accepted: it reads
 * through a {@link ReusedReadBuffer} when the socket can be remade so, else through 'data' events.
 */
export function acceptedChannel(accepted: Socket, transport: 'tcp' | 'unix', maxFrameBytes: number): SocketChannel {
  const reads = new ReusedReadBuffer();
  const socket = withReusedReads(accepted, reads);
  if (socket !== undefined) return new SocketChannel(socket, transport, maxFrameBytes, reads);
  const channel = new SocketChannel(accepted, transport, maxFrameBytes);
  accepted.resume();
  return channel;
}

export class SocketChannel extends BaseChannel implements Channel {
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private pausedFor = 0;
  /**
   * What was sent this turn, written together by flush(): payloads (strings) and whole frames
   * (Buffers), in the first {@link outboxCount} slots. One array for the channel's life: a new one
   * per write, grown on its first push, was most of what a write allocated besides its frame.
   */
  private readonly outbox: Array<Buffer | string | undefined> = [];
  private outboxCount = 0;
  /** Size of the outbox's items (a string's length in characters). */
  private outboxBytes = 0;
  /** Set while the frames of one read are handled: their answers are written when it ends. */
  private reading = false;
  private readonly flushQueued = (): void => this.flush();

  /** Set while TCP keep-alive probes run until the peer is first heard from (address.ts). */
  private probing: boolean;
  private readonly progress: PeerProgress;

  /**
   * `reads`: set when the socket was connected with its `onread`; else 'data' events carry the
   * bytes. `probing`: the socket was connected with keep-alive on, to be turned off once the peer
   * has sent something.
   */
  constructor(socket: Socket, transport: 'tcp' | 'unix', maxFrameBytes: number, reads?: ReusedReadBuffer, probing = false) {
    super();
    this.socket = socket;
    this.transport = transport;
    this.probing = probing;
    this.progress = new PeerProgress(socket);
    this.remoteAddress =
      transport === 'tcp' ? `${socket.remoteAddress}:${socket.remotePort}` : 'local peer';
    if (transport === 'tcp') socket.setNoDelay(true);
    // Chunks of a reused buffer are overwritten by the next read: the decoder copies what it keeps.
    this.decoder = new FrameDecoder(maxFrameBytes, (payload) => this.frameHandler(payload), { copyHeldChunks: reads !== undefined });
    if (reads !== undefined) reads.setReceiver((buffer, length) => this.onData(buffer, length));
    else socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.resumeReading(PauseReason.Backpressure));
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      this.decoder.stop();
      this.closed(this.closeError);
    });
  }

  private closeError: Error | undefined;

  get maxFrameBytes(): number {
    return this.decoder.maxFrameBytes;
  }

  set maxFrameBytes(value: number) {
    this.decoder.maxFrameBytes = value;
  }

  private onData(chunk: Buffer, length = chunk.length): void {
    if (this.probing) {
      // The peer knows this connection: no more probes, which an idle client would go on sending.
      this.probing = false;
      this.socket.setKeepAlive(false);
    }
    this.reading = true;
    try {
      this.decoder.push(chunk, length);
    } catch (err) {
      this.decodeFailed(err);
    } finally {
      this.reading = false;
    }
    // What the read's frames were answered with at once leaves now, together (see enqueue).
    this.flush();
  }

  private decodeFailed(err: unknown): void {
    if (err instanceof FrameError) this.frameErrorHandler(err);
    else this.destroy(err as Error);
  }

  send(payload: Buffer | string): void {
    // A string is framed when the turn's frames are joined; a Buffer payload is framed now, since
    // the outbox takes Buffers for whole frames.
    this.enqueue(typeof payload === 'string' ? payload : encodeFrame(payload));
  }

  sendFrame(frame: Buffer): void {
    this.enqueue(frame);
  }

  private enqueue(item: Buffer | string): void {
    // Frames sent in one turn (the answers to a pipelined batch) leave together in one write and
    // one syscall for up to FLUSH_AT_FRAMES frames instead of one per frame. The write waits for a
    // microtask, queued behind those the same read started (where a batch's sends come from), not
    // for process.nextTick: running Node's tick queue per write costs more than the write's own
    // bookkeeping, paid by every request when one is in flight at a time. A promise reaction
    // rather than queueMicrotask(), which wraps each callback in a new AsyncResource and a bound
    // function.
    // Sent while a read is handled (a server answering synchronously), they wait for the end of
    // the read instead, which saves the microtask.
    if (this.outboxCount === 0 && !this.reading) void RESOLVED.then(this.flushQueued);
    this.outbox[this.outboxCount++] = item;
    this.outboxBytes += item.length;
    if (this.outboxCount >= FLUSH_AT_FRAMES || this.outboxBytes >= FLUSH_AT_BYTES) this.flush();
  }

  /** @internal Writes the turn's frames. */
  flush(): void {
    const frames = this.outbox;
    const count = this.outboxCount;
    if (count === 0) return;
    // After end() nothing more may be written (a write after end destroys the socket and could
    // drop what is still queued). Checked here, once per write, rather than per frame.
    const writable = !this.socket.destroyed && !this.socket.writableEnded;
    const first = frames[0]!;
    const bytes = !writable ? undefined : count > 1 ? joinFrames(frames, count) : typeof first === 'string' ? encodeFrame(first) : first;
    // Emptied before writing, and the frames let go of.
    this.outboxCount = 0;
    this.outboxBytes = 0;
    // A loop: Array.prototype.fill is a call into C++ here, dearer than the loop for a few slots.
    for (let i = 0; i < count; i++) frames[i] = undefined;
    if (bytes === undefined) return;
    // write() says false once the socket holds more than its high-water mark (16 KiB): only then
    // is the unsent size worth reading.
    const belowHighWater = this.socket.write(bytes);
    if (!belowHighWater && this.socket.writableLength > UNSENT_BYTES_LIMIT) this.pauseReading(PauseReason.Backpressure);
  }

  pauseReading(reason: PauseReason): void {
    if (this.pausedFor === 0) {
      this.socket.pause();
      this.decoder.pause();
    }
    this.pausedFor |= reason;
  }

  resumeReading(reason: PauseReason): void {
    if ((this.pausedFor & reason) === 0) return;
    this.pausedFor &= ~reason;
    if (this.pausedFor !== 0 || this.socket.destroyed) return;
    try {
      this.decoder.resume();
    } catch (err) {
      this.decodeFailed(err);
    }
    if (this.pausedFor === 0) this.socket.resume();
  }

  peerMoved(): boolean {
    return this.progress.moved();
  }

  keepProcessAlive(keep: boolean): void {
    if (keep) this.socket.ref();
    else this.socket.unref();
  }

  end(): void {
    this.flush();
    this.decoder.stop();
    this.socket.end();
    // A peer that never closes its side must not keep the socket (and its slot) forever.
    setTimeout(() => this.socket.destroy(), END_GRACE_MS).unref();
  }

  destroy(err?: Error): void {
    this.closeError ??= err;
    this.decoder.stop();
    this.socket.destroy();
  }
}

