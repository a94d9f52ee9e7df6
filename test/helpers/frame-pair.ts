/**
 * An in-memory pair of connected {@link FrameIO} ends, like ws's `duplex-pair`: a frame one end
 * sends is what the other end receives next. Lets the handshake run without sockets.
 */
import { ConnectionClosedError } from '../../src/errors.js';
import type { FrameIO } from '../../src/protocol/handshake.js';

export class FrameEnd implements FrameIO {
  /** Every payload this end sent, in order (copies). */
  readonly sent: Buffer[] = [];
  /** Set by {@link framePair}. */
  peer!: FrameEnd;
  private readonly inbox: Buffer[] = [];
  private waiter: { resolve: (frame: Buffer) => void; reject: (err: Error) => void } | undefined;
  private closed = false;

  send(payload: Buffer): void {
    if (this.closed) return;
    // Copy: the sender may reuse its buffer, as a socket write would not care.
    const copy = Buffer.from(payload);
    this.sent.push(copy);
    this.peer.deliver(copy);
  }

  receive(): Promise<Buffer> {
    const frame = this.inbox.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.closed) return Promise.reject(new ConnectionClosedError('frame pair closed'));
    if (this.waiter !== undefined) return Promise.reject(new Error('frame pair: receive() called twice concurrently'));
    return new Promise((resolve, reject) => {
      this.waiter = { resolve, reject };
    });
  }

  /** Closes both ends: pending and later receives reject with CONNECTION_CLOSED once drained. */
  close(): void {
    for (const end of [this, this.peer]) {
      if (end.closed) continue;
      end.closed = true;
      end.waiter?.reject(new ConnectionClosedError('frame pair closed'));
      end.waiter = undefined;
    }
  }

  private deliver(frame: Buffer): void {
    if (this.closed) return;
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve(frame);
    } else {
      this.inbox.push(frame);
    }
  }
}

/** Two connected ends: `[a, b]`, what `a` sends `b` receives and the other way round. */
export function framePair(): [FrameEnd, FrameEnd] {
  const a = new FrameEnd();
  const b = new FrameEnd();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
