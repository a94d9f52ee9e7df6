/**
 * A deliberately dumb client for misbehaving on purpose: it runs the real handshake (the functions of
 * src/protocol/handshake.ts) and can then send arbitrary bytes, frames or WebSocket messages and read
 * what the server answers, frame by frame. Sockets are destroyed after the file's tests.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { WebSocket } from 'ws';
import { ConnectionClosedError, SyncmgrError } from '../../src/errors.js';
import { PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { decodeSingleFrame, encodeFrame, FrameDecoder } from '../../src/protocol/frame.js';
import { clientHandshake, type FrameIO } from '../../src/protocol/handshake.js';
import type { Endpoint } from '../../src/transport/address.js';
import { AUTHKEY, onCleanup } from './server.js';

/** Milliseconds {@link RawClient.nextFrame} waits by default. */
const DEFAULT_WAIT_MS = 3000;

export interface RawConnectOptions {
  /** Run the handshake with this key (default: the test servers' key); `false` skips it. */
  authkey?: string | Buffer | false;
  /** TCP only: the local address to connect from (any of 127/8 on Linux), to act as another peer. */
  localAddress?: string;
}

export class RawClient implements FrameIO {
  private readonly frames: Buffer[] = [];
  private waiter: { resolve: (frame: Buffer) => void; reject: (err: Error) => void } | undefined;
  private closeInfo: { at: number } | undefined;
  private readonly closeWaiters: Array<() => void> = [];
  /** When the connection opened (ms since epoch). */
  readonly openedAt = Date.now();
  /** A framing error in what the server sent, if any (the server must never cause one). */
  serverFrameError: Error | undefined;
  /** For WebSocket clients: the close code the server sent. */
  wsCloseCode: number | undefined;

  private constructor(
    private readonly socket: Socket | undefined,
    private readonly ws: WebSocket | undefined,
  ) {}

  /** Opens a raw TCP or Unix connection (and runs the handshake unless `authkey: false`). */
  static async connect(endpoint: Endpoint, options: RawConnectOptions = {}): Promise<RawClient> {
    let client: RawClient;
    if (endpoint.transport === 'ws') {
      const ws = new WebSocket(endpoint.url, { perMessageDeflate: false });
      ws.binaryType = 'nodebuffer';
      client = new RawClient(undefined, ws);
      onCleanup(() => ws.terminate());
      const raw = client;
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (!isBinary) {
          raw.serverFrameError = new Error('server sent a text message');
          return;
        }
        try {
          raw.push(decodeSingleFrame(data, 2 ** 31));
        } catch (err) {
          raw.serverFrameError = err as Error;
        }
      });
      ws.on('close', (code) => {
        raw.wsCloseCode = code;
        raw.markClosed();
      });
      ws.on('error', () => {});
      await new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
    } else {
      const socket = endpoint.transport === 'tcp' ? netConnect({ host: endpoint.host, port: endpoint.port, ...(options.localAddress !== undefined && { localAddress: options.localAddress }) }) : netConnect({ path: endpoint.path });
      // Without this, a request written right after the final #WELCOME# waits for a delayed ACK.
      if (endpoint.transport === 'tcp') socket.setNoDelay(true);
      client = new RawClient(socket, undefined);
      onCleanup(() => void socket.destroy());
      const raw = client;
      const decoder = new FrameDecoder(2 ** 31, (payload) => raw.push(Buffer.from(payload)));
      socket.on('data', (chunk: Buffer) => {
        try {
          decoder.push(chunk);
        } catch (err) {
          raw.serverFrameError = err as Error;
        }
      });
      // Writes after the server closed fail with EPIPE/ECONNRESET; that is what some tests provoke.
      socket.on('error', () => {});
      socket.on('close', () => raw.markClosed());
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', () => resolve());
        socket.once('error', reject);
      });
    }
    if (options.authkey !== false) await client.handshake(options.authkey ?? AUTHKEY);
    return client;
  }

  /** Runs the client side of the handshake with `authkey`. */
  handshake(authkey: string | Buffer): Promise<void> {
    return clientHandshake(this, typeof authkey === 'string' ? Buffer.from(authkey) : authkey);
  }

  get isClosed(): boolean {
    return this.closeInfo !== undefined;
  }

  /** Sends bytes as they are: written to the socket, or as one binary WebSocket message. */
  sendBytes(bytes: Buffer): void {
    if (this.ws !== undefined) this.ws.send(bytes, { binary: true });
    else this.socket!.write(bytes);
  }

  /** Sends a text WebSocket message (WebSocket clients only). */
  sendText(text: string): void {
    this.ws!.send(text, { binary: false });
  }

  /** {@link FrameIO}: frames `payload` and sends it. */
  send(payload: Buffer | string): void {
    this.sendBytes(encodeFrame(payload));
  }

  /** Sends `value` as one JSON frame. */
  sendJson(value: unknown): void {
    this.send(JSON.stringify(value));
  }

  /** {@link FrameIO}: the next frame from the server. */
  receive(): Promise<Buffer> {
    return this.nextFrame();
  }

  /**
   * The next frame from the server. Rejects with CONNECTION_CLOSED if the connection closes first,
   * or TIMEOUT after `waitMs`.
   */
  nextFrame(waitMs = DEFAULT_WAIT_MS): Promise<Buffer> {
    const frame = this.frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.closeInfo !== undefined) return Promise.reject(new ConnectionClosedError('raw client: connection closed'));
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        reject(new SyncmgrError('TIMEOUT', `raw client: no frame within ${waitMs} ms`));
      }, waitMs);
      this.waiter = {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        reject: (err) => {
          clearTimeout(timer);
          reject(err);
        },
      };
    });
  }

  /** The next frame, parsed as JSON. */
  async nextJson(waitMs?: number): Promise<any> {
    return JSON.parse((await this.nextFrame(waitMs)).toString('utf8'));
  }

  /** Sends `value` as JSON and resolves with the next message. */
  async request(value: unknown): Promise<any> {
    this.sendJson(value);
    return this.nextJson();
  }

  /** The hello exchange, which must succeed. */
  async hello(id: number | string = 'hello'): Promise<any> {
    const answer = await this.request({ id, op: 'hello', args: [{ protocol: PROTOCOL_VERSION, client: 'raw-test-client' }] });
    if (answer.error !== undefined) throw new Error(`hello failed: ${JSON.stringify(answer.error)}`);
    return answer;
  }

  /**
   * Resolves with the milliseconds from opening to closing, once the server has closed the
   * connection; rejects with TIMEOUT if it is still open after `waitMs`.
   */
  waitClosed(waitMs = DEFAULT_WAIT_MS): Promise<number> {
    if (this.closeInfo !== undefined) return Promise.resolve(this.closeInfo.at - this.openedAt);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new SyncmgrError('TIMEOUT', `raw client: still open after ${waitMs} ms`)), waitMs);
      this.closeWaiters.push(() => {
        clearTimeout(timer);
        resolve(this.closeInfo!.at - this.openedAt);
      });
    });
  }

  /** Half-closes (TCP FIN / WebSocket close) from our side. */
  end(): void {
    if (this.ws !== undefined) this.ws.close(1000);
    else this.socket!.end();
  }

  /** Drops the connection at once. */
  destroy(): void {
    if (this.ws !== undefined) this.ws.terminate();
    else this.socket!.destroy();
  }

  private push(frame: Buffer): void {
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      waiter.resolve(frame);
    } else {
      this.frames.push(frame);
    }
  }

  private markClosed(): void {
    if (this.closeInfo !== undefined) return;
    this.closeInfo = { at: Date.now() };
    this.waiter?.reject(new ConnectionClosedError('raw client: connection closed'));
    this.waiter = undefined;
    for (const waiter of this.closeWaiters.splice(0)) waiter();
  }
}
