/**
 * Two channels connected in memory, like ws's duplex pair: what one end sends arrives at the other
 * on a later turn of the event loop, as bytes through a {@link FrameDecoder}, so frame limits,
 * pauses and framing errors behave as they do over a socket. A session and a client can be run
 * against each other without a socket (tests), handshake included.
 *
 * Unlike a socket there is no backpressure: an end that never reads lets its inbox grow.
 */
import { Buffer } from 'node:buffer';
import { DEFAULT_MAX_FRAME_BYTES } from '../protocol/constants.js';
import { encodeFrame, FrameDecoder, FrameError } from '../protocol/frame.js';
import { BaseChannel, type Channel, type PauseReason } from './channel.js';

/** Stands in the inbox for the peer's end(): everything sent before it arrives first. */
const END = Symbol('end');

/** A pair of connected in-memory channels; each starts accepting frames up to `maxFrameBytes`. */
export function memoryChannelPair(maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): [MemoryChannel, MemoryChannel] {
  const a = new MemoryChannel(maxFrameBytes);
  const b = new MemoryChannel(maxFrameBytes);
  a.connect(b);
  b.connect(a);
  return [a, b];
}

/** One end of a {@link memoryChannelPair}. */
export class MemoryChannel extends BaseChannel implements Channel {
  readonly transport = 'memory' as const;
  readonly remoteAddress = 'memory peer';
  private peer!: MemoryChannel;
  private readonly decoder: FrameDecoder;
  /** Bytes (copies) the peer sent and this end has not decoded yet, then maybe its end(). */
  private readonly inbox: Array<Buffer | typeof END> = [];
  private deliveryQueued = false;
  private pausedFor = 0;
  /** Set when bytes arrive or the peer takes ours; read and cleared by peerMoved(). */
  private moved = false;
  /** end() or destroy() was called: nothing more is sent. */
  private finished = false;
  private readonly deliverQueued = (): void => this.deliver();

  constructor(maxFrameBytes: number) {
    super();
    this.decoder = new FrameDecoder(maxFrameBytes, (payload) => this.frameHandler(payload));
  }

  /** @internal Set once by memoryChannelPair. */
  connect(peer: MemoryChannel): void {
    this.peer = peer;
  }

  get maxFrameBytes(): number {
    return this.decoder.maxFrameBytes;
  }

  set maxFrameBytes(value: number) {
    this.decoder.maxFrameBytes = value;
  }

  send(payload: Buffer | string): void {
    this.transmit(encodeFrame(payload));
  }

  sendFrame(frame: Buffer): void {
    // Copied: the caller may reuse its buffer once this returns, as it may with a socket.
    this.transmit(Buffer.from(frame));
  }

  pauseReading(reason: PauseReason): void {
    if (this.pausedFor === 0) this.decoder.pause();
    this.pausedFor |= reason;
  }

  resumeReading(reason: PauseReason): void {
    if ((this.pausedFor & reason) === 0) return;
    this.pausedFor &= ~reason;
    if (this.pausedFor !== 0 || !this.isOpen) return;
    try {
      this.decoder.resume();
    } catch (err) {
      this.decodeFailed(err);
    }
    this.queueDelivery();
  }

  peerMoved(): boolean {
    const moved = this.moved;
    this.moved = false;
    return moved;
  }

  /** Nothing to do: no handle keeps the process alive (a delivery pending does, for one turn). */
  keepProcessAlive(_keep: boolean): void {}

  end(): void {
    if (this.finished) return;
    this.finished = true;
    this.decoder.stop();
    this.peer.arrive(END);
  }

  destroy(err?: Error): void {
    if (!this.isOpen) return;
    this.finished = true;
    this.decoder.stop();
    this.inbox.length = 0;
    this.closed(err);
    // The peer sees the connection gone, as after a reset, on a later turn.
    const peer = this.peer;
    setImmediate(() => peer.hangUp());
  }

  private transmit(bytes: Buffer): void {
    if (!this.finished && this.isOpen) this.peer.arrive(bytes);
  }

  private arrive(item: Buffer | typeof END): void {
    if (!this.isOpen) return;
    this.inbox.push(item);
    this.moved = true;
    this.queueDelivery();
  }

  private queueDelivery(): void {
    if (this.deliveryQueued || this.pausedFor !== 0 || this.inbox.length === 0) return;
    this.deliveryQueued = true;
    setImmediate(this.deliverQueued);
  }

  /** Decodes what arrived, until paused; the peer's end() closes both ends once reached. */
  private deliver(): void {
    this.deliveryQueued = false;
    while (this.isOpen && this.pausedFor === 0 && this.inbox.length > 0) {
      const item = this.inbox.shift()!;
      if (item === END) {
        this.decoder.stop();
        this.closed();
        this.peer.hangUp();
        return;
      }
      this.peer.moved = true;
      try {
        this.decoder.push(item);
      } catch (err) {
        this.decodeFailed(err);
      }
    }
  }

  /** The peer is gone: this end closes too (without an error, as a socket closed cleanly). */
  private hangUp(): void {
    if (!this.isOpen) return;
    this.finished = true;
    this.decoder.stop();
    this.inbox.length = 0;
    this.closed();
  }

  private decodeFailed(err: unknown): void {
    if (err instanceof FrameError) this.frameErrorHandler(err);
    else this.destroy(err as Error);
  }
}
