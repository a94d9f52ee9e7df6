/**
 * Whether a peer shows life, judged on its byte stream rather than on whole frames: a client
 * slowly uploading one large request, or slowly reading answers while we have stopped reading it
 * (backpressure), sends no whole frame for a long time and yet is there.
 */
import type { Socket } from 'node:net';

/** What a libuv stream handle says of its writes (undocumented, read-only, stable since Node 10). */
interface StreamHandle {
  /** Bytes handed to libuv and not yet taken by the kernel; goes down as a large write progresses. */
  readonly writeQueueSize?: number;
}

/**
 * Reads a socket's counters once per call, for the session sweeper: nothing is counted per read or
 * per write (the counters are the socket's own), so liveness costs the hot path nothing.
 */
export class PeerProgress {
  private bytesRead = 0;
  private unsent = 0;
  private queued = 0;

  constructor(private readonly socket: Socket | undefined) {}

  /**
   * Whether, since the previous call, bytes arrived from the peer or the peer took bytes waiting
   * for it (a write completed, or the one in progress advanced). A stopped or half-open peer does
   * neither once the kernel buffers between us are full: then this stays false.
   */
  moved(): boolean {
    const socket = this.socket;
    if (socket === undefined) return false;
    const bytesRead = socket.bytesRead;
    const unsent = socket.writableLength;
    const queued = (socket as unknown as { _handle: StreamHandle | null })._handle?.writeQueueSize ?? 0;
    // New answers only add to `unsent` and `queued`: a decrease of either is the peer reading
    // (missed only when, between two calls, a write completed and a larger one started).
    const moved = bytesRead !== this.bytesRead || unsent < this.unsent || queued < this.queued;
    this.bytesRead = bytesRead;
    this.unsent = unsent;
    this.queued = queued;
    return moved;
  }
}
