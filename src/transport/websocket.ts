/**
 * Channel over a `ws` WebSocket: each binary message carries exactly one protocol frame, length
 * header included, so the bytes are the same as on TCP and the same handshake runs unchanged.
 */
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import { decodeSingleFrame, encodeFrame, FrameError } from '../protocol/frame.js';
import { BaseChannel, type Channel, PauseReason, UNSENT_BYTES_LIMIT } from './channel.js';
import { PeerProgress } from './progress.js';

/** Our frame header (4 bytes, or 12 in the extended form) carried inside each binary message. */
export const WS_FRAME_OVERHEAD_BYTES = 12;

/** WebSocket close code for a protocol violation (RFC 6455 §7.4.1). */
const CLOSE_PROTOCOL_ERROR = 1002;

export class WebSocketChannel extends BaseChannel implements Channel {
  readonly transport = 'ws' as const;
  readonly remoteAddress: string;
  private frameLimit = 0;
  private readonly socket: WebSocket;
  private pausedFor = 0;
  /** Messages that arrived while paused (the socket stops reading, but one may be in flight). */
  private held: Buffer[] = [];
  private closeError: Error | undefined;
  /** Set by end(): from then on incoming messages are dropped, see end(). */
  private ending = false;
  private readonly progress: PeerProgress;

  constructor(socket: WebSocket, remoteAddress: string, maxFrameBytes: number) {
    super();
    this.socket = socket;
    this.remoteAddress = remoteAddress;
    // The connection's own socket, which ws keeps as `_socket` (set before 'open' and 'connection'):
    // its byte counters show a peer alive in the middle of a message, which ws's events do not.
    this.progress = new PeerProgress((socket as unknown as { _socket?: Socket | null })._socket ?? undefined);
    socket.binaryType = 'nodebuffer';
    this.maxFrameBytes = maxFrameBytes;
    socket.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.ending) return;
      if (!isBinary) {
        this.frameErrorHandler(new FrameError('PROTOCOL_ERROR', 'text WebSocket messages are not allowed: send frames as binary messages'));
        return;
      }
      if (this.pausedFor !== 0) this.held.push(data);
      else this.deliver(data);
    });
    socket.on('error', (err) => this.destroy(err));
    socket.on('close', () => {
      this.held = [];
      this.closed(this.closeError);
    });
  }

  get maxFrameBytes(): number {
    return this.frameLimit;
  }

  /**
   * Also sets ws's own message limit, which it checks against each frame header before it
   * buffers the payload: a server starts its connections at the handshake's small limit so that
   * an unauthenticated peer announcing a huge message is closed (1009) before anything is held,
   * and the handshake raises it once the peer has authenticated. ws offers no public way to
   * change the limit of an open socket: this sets its Receiver's `_maxPayload` (ws 8), and
   * test/integration/admission.test.ts fails if a ws upgrade stops honouring it.
   */
  set maxFrameBytes(value: number) {
    this.frameLimit = value;
    const receiver = (this.socket as unknown as { _receiver?: { _maxPayload?: unknown } })._receiver;
    if (receiver !== undefined && receiver !== null && typeof receiver._maxPayload === 'number') {
      receiver._maxPayload = value + WS_FRAME_OVERHEAD_BYTES;
    }
  }

  private deliver(message: Buffer): void {
    let payload: Buffer;
    try {
      payload = decodeSingleFrame(message, this.maxFrameBytes);
    } catch (err) {
      this.frameErrorHandler(err as FrameError);
      return;
    }
    this.frameHandler(payload);
  }

  send(payload: Buffer | string): void {
    this.sendFrame(encodeFrame(payload));
  }

  sendFrame(frame: Buffer): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount + frame.length <= UNSENT_BYTES_LIMIT) {
      this.socket.send(frame, { binary: true });
      return;
    }
    // A WebSocket has no 'drain' event; ws calls back once this message is written out. Every
    // message sent above the mark carries the callback, so the last one to be written resumes.
    this.pauseReading(PauseReason.Backpressure);
    this.socket.send(frame, { binary: true }, () => {
      if (this.socket.bufferedAmount <= UNSENT_BYTES_LIMIT) this.resumeReading(PauseReason.Backpressure);
    });
  }

  pauseReading(reason: PauseReason): void {
    if (this.pausedFor === 0) this.socket.pause();
    this.pausedFor |= reason;
  }

  resumeReading(reason: PauseReason): void {
    if ((this.pausedFor & reason) === 0) return;
    this.pausedFor &= ~reason;
    while (this.pausedFor === 0 && this.held.length > 0 && this.isOpen) this.deliver(this.held.shift()!);
    if (this.pausedFor === 0 && this.isOpen) this.socket.resume();
  }

  peerMoved(): boolean {
    return this.progress.moved();
  }

  keepProcessAlive(keep: boolean): void {
    // ws has no ref/unref of its own: its TCP socket (`_socket`, as in the constructor) is the handle.
    const tcp = (this.socket as unknown as { _socket?: Socket | null })._socket;
    if (keep) tcp?.ref();
    else tcp?.unref();
  }

  end(): void {
    // Stop delivering, as SocketChannel.end() does: the closing handshake can still carry answers
    // the peer sent before it saw our close, and Client.close() promises that every request still
    // outstanding is rejected with ConnectionClosedError, on every transport alike.
    this.ending = true;
    this.held = [];
    this.socket.close(1000);
  }

  destroy(err?: Error): void {
    this.closeError ??= err;
    if (err instanceof FrameError) this.socket.close(CLOSE_PROTOCOL_ERROR, err.message.slice(0, 120));
    else this.socket.terminate();
  }
}
