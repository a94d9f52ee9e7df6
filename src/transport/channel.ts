/**
 * A Channel carries whole frames (payloads) over some transport. Server, client and handshake see
 * only this interface; a new transport is one file implementing it plus a row in address.ts.
 */
import { ConnectionClosedError } from '../errors.js';
import type { FrameError } from '../protocol/frame.js';
import type { FrameIO } from '../protocol/handshake.js';

/** How a channel reaches its peer; `memory` is the in-process pair of memory.ts. */
export type TransportKind = 'tcp' | 'unix' | 'ws' | 'memory';

/**
 * Above this many unsent bytes a channel stops reading from its peer until they are written out,
 * so a peer that sends requests but never reads the answers cannot make us buffer without bound
 * (docs/PROTOCOL.md §4.1, §8). Checked after every answer; the answer that passes it is still
 * sent whole, so any answer size works and a connection holds at most this plus one answer.
 */
export const UNSENT_BYTES_LIMIT = 8 * 1024 * 1024;

/** Why reading is paused; reading resumes when no reason is left. */
export const PauseReason = {
  Handshake: 1,
  Backpressure: 2,
} as const;
export type PauseReason = (typeof PauseReason)[keyof typeof PauseReason];

export interface Channel {
  readonly transport: TransportKind;
  /** Printable peer address, for logs. */
  readonly remoteAddress: string;
  /** Largest payload accepted from the peer. */
  maxFrameBytes: number;
  readonly isOpen: boolean;
  /**
   * Sets the function that receives each incoming payload, replacing the previous one. A payload
   * may be a view into a buffer the next read reuses: the handler uses it before it returns, or
   * copies it.
   */
  setFrameHandler(handler: (payload: Buffer) => void): void;
  /** Sets what happens on a framing violation (default: destroy the channel). */
  setFrameErrorHandler(handler: (err: FrameError) => void): void;
  /** Registers a listener for the end of the channel; `err` is set when it ended on an error. */
  onClose(listener: (err?: Error) => void): void;
  /** Frames and sends one payload. A socket channel writes the frames of one turn of the event loop together, 16 per syscall. */
  send(payload: Buffer | string): void;
  /** Sends a frame encoded already, header included (protocol/fast-path.ts writes some), as {@link send} does. */
  sendFrame(frame: Buffer): void;
  pauseReading(reason: PauseReason): void;
  resumeReading(reason: PauseReason): void;
  /**
   * Whether the peer showed life since the previous call: any byte arrived from it, or it took
   * some of the bytes waiting for it. For the session sweeper, once per sweep; never per frame.
   */
  peerMoved(): boolean;
  /**
   * Whether the open connection keeps the process alive (Node's ref/unref; default true). A client
   * sets it only while a request is unanswered, so a program that forgets close() still exits.
   */
  keepProcessAlive(keep: boolean): void;
  /** Closes after flushing what was sent. */
  end(): void;
  /** Closes at once, dropping unsent data. */
  destroy(err?: Error): void;
}

/** Handler bookkeeping shared by the transports. */
export abstract class BaseChannel {
  /** Frames that arrived before anyone set a handler (a WebSocket can deliver one with 'open'). */
  private early: Buffer[] | undefined = [];
  protected frameHandler: (payload: Buffer) => void = (payload) => this.early?.push(Buffer.from(payload));
  protected frameErrorHandler: (err: FrameError) => void = (err) => this.destroy(err);
  private closeListeners: Array<(err?: Error) => void> = [];
  private closedWith: { err?: Error } | undefined;

  abstract destroy(err?: Error): void;

  get isOpen(): boolean {
    return this.closedWith === undefined;
  }

  setFrameHandler(handler: (payload: Buffer) => void): void {
    this.frameHandler = handler;
    const early = this.early;
    this.early = undefined;
    if (early !== undefined) for (const payload of early) handler(payload);
  }

  setFrameErrorHandler(handler: (err: FrameError) => void): void {
    this.frameErrorHandler = handler;
  }

  onClose(listener: (err?: Error) => void): void {
    if (this.closedWith !== undefined) {
      const { err } = this.closedWith;
      queueMicrotask(() => listener(err));
    } else {
      this.closeListeners.push(listener);
    }
  }

  /** Transports call this exactly when the underlying connection is gone. */
  protected closed(err?: Error): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = { err };
    const listeners = this.closeListeners;
    this.closeListeners = [];
    for (const listener of listeners) listener(err);
  }
}

/**
 * Reads the handshake's frames one at a time as promises. After `expectedFrames` frames it pauses
 * reading and raises the frame limit to `maxFrameBytes`, so a request pipelined right behind the
 * last handshake frame waits, unparsed, until the handshake has been verified.
 */
export class HandshakeReader implements FrameIO {
  private readonly queue: Buffer[] = [];
  private waiter: { resolve: (frame: Buffer) => void; reject: (err: Error) => void } | undefined;
  private received = 0;
  private closedError: Error | undefined;

  constructor(
    private readonly channel: Channel,
    private readonly expectedFrames: number,
    /**
     * The limit set after the last handshake frame. A server starts it at the handshake's own
     * limit and raises it once the client has proven the key, so that a peer sending its
     * handshake frames unverified, back to back, never gets the large limit.
     */
    public maxFrameBytes: number,
  ) {
    channel.setFrameHandler((frame) => this.push(frame));
    channel.onClose((err) => {
      this.closedError = new ConnectionClosedError('connection closed during the handshake', { cause: err });
      this.waiter?.reject(this.closedError);
      this.waiter = undefined;
    });
  }

  /** Whether any frame has arrived. */
  get heardAny(): boolean {
    return this.received > 0;
  }

  send(payload: Buffer): void {
    this.channel.send(payload);
  }

  receive(): Promise<Buffer> {
    const frame = this.queue.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.closedError !== undefined) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  private push(payload: Buffer): void {
    // Kept past this call (queued, or read when the promise settles): a copy of its own.
    const frame = Buffer.from(payload);
    this.received += 1;
    if (this.received === this.expectedFrames) {
      this.channel.maxFrameBytes = this.maxFrameBytes;
      this.channel.pauseReading(PauseReason.Handshake);
    }
    if (this.waiter !== undefined) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve(frame);
    } else {
      this.queue.push(frame);
    }
  }
}
