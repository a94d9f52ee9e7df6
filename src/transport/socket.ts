/** Channel over a `net.Socket`: TCP and Unix sockets share the same byte-stream framing. */
import type { Socket } from 'node:net';
import { encodeFrame, FrameDecoder, FrameError } from '../protocol/frame.js';
import { BaseChannel, type Channel, PauseReason, type TransportKind } from './channel.js';

/**
 * Above this many unsent bytes we stop reading from the peer until its socket drains, so a client
 * that pipelines requests but never reads the answers cannot make the server buffer without bound.
 */
const WRITE_HIGH_WATER_BYTES = 8 * 1024 * 1024;

/** How long after our FIN we wait for the peer's before destroying the socket. */
const END_GRACE_MS = 2000;

export class SocketChannel extends BaseChannel implements Channel {
  readonly transport: TransportKind;
  readonly remoteAddress: string;
  private readonly socket: Socket;
  private readonly decoder: FrameDecoder;
  private pausedFor = 0;
  private corked = false;

  constructor(socket: Socket, transport: 'tcp' | 'unix', maxFrameBytes: number) {
    super();
    this.socket = socket;
    this.transport = transport;
    this.remoteAddress =
      transport === 'tcp' ? `${socket.remoteAddress}:${socket.remotePort}` : 'local peer';
    if (transport === 'tcp') socket.setNoDelay(true);
    this.decoder = new FrameDecoder(maxFrameBytes, (payload) => this.frameHandler(payload));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
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

  private onData(chunk: Buffer): void {
    this.decode(() => this.decoder.push(chunk));
  }

  private decode(step: () => void): void {
    try {
      step();
    } catch (err) {
      if (err instanceof FrameError) this.frameErrorHandler(err);
      else this.destroy(err as Error);
    }
  }

  send(payload: Buffer | string): void {
    // After end() nothing more may be written (a write after end destroys the socket and could
    // drop what is still queued).
    if (this.socket.destroyed || this.socket.writableEnded) return;
    // Cork until the end of this tick: answers to a pipelined batch leave in one writev.
    if (!this.corked) {
      this.corked = true;
      this.socket.cork();
      process.nextTick(uncork, this);
    }
    this.socket.write(encodeFrame(payload));
    if (this.socket.writableLength > WRITE_HIGH_WATER_BYTES) this.pauseReading(PauseReason.Backpressure);
  }

  /** @internal */
  uncork(): void {
    this.corked = false;
    this.socket.uncork();
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
    this.decode(() => this.decoder.resume());
    if (this.pausedFor === 0) this.socket.resume();
  }

  end(): void {
    if (this.corked) this.uncork();
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

function uncork(channel: SocketChannel): void {
  channel.uncork();
}
