/**
 * The client: one authenticated connection, many requests in flight on it. Requests are matched to
 * responses by id; a closed connection rejects everything still outstanding.
 */
import { EventEmitter } from 'node:events';
import {
  AbortError,
  ConnectionClosedError,
  fromWire,
  SyncmgrError,
  TimeoutError,
} from '../errors.js';
import { DEFAULT_MAX_FRAME_BYTES, HANDSHAKE_MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../protocol/constants.js';
import { clientHandshake } from '../protocol/handshake.js';
import { encodeRequest, type EventMessage, MessageError, parseServerMessage, type RequestId } from '../protocol/message.js';
import { dial, type Endpoint, formatEndpoint } from '../transport/address.js';
import { type Channel, HandshakeReader, PauseReason } from '../transport/channel.js';
import { VERSION } from '../version.js';
import { type EndpointOptions, resolveEndpoint } from './options.js';
import { DictProxy } from './proxies/dict.js';

/** Per-call options. Timeouts are in seconds, as in Python's threading and multiprocessing. */
export interface CallOptions {
  /** Seconds to wait for the answer before rejecting with TimeoutError. */
  timeout?: number;
  /** Rejects the call with AbortError when it fires. */
  signal?: AbortSignal;
}

export interface ConnectOptions extends EndpointOptions {
  /** Seconds allowed for connecting, the handshake and hello together (default 10). */
  connectTimeout?: number;
  /** Default timeout in seconds for every call (default: wait as long as the connection lives). */
  timeout?: number;
  /** Aborts connecting. */
  signal?: AbortSignal;
  /** Largest frame accepted from the server, in bytes (default 16 MiB). */
  maxFrameBytes?: number;
}

/** What the server said about itself in the hello exchange. */
export interface ServerInfo {
  protocol: number;
  /** e.g. `syncmgr/0.1.0`. */
  server: string;
  /** Random per server start: a different value after reconnecting means the server restarted. */
  instance: string;
  /** This connection's session number on the server. */
  session: number;
  /** Largest request frame the server accepts, in bytes. */
  maxFrameBytes: number;
}

export type ClientStatus = 'ready' | 'closing' | 'closed';

interface Pending {
  resolve(value: unknown): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout | undefined;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

const DEFAULT_CONNECT_TIMEOUT_S = 10;

/**
 * A connection to a syncmgr server. Emits `event` (server-initiated messages, e.g. `shutdown`),
 * `status` (on every status change) and `close` (with the error that closed it, if any).
 */
export class Client extends EventEmitter {
  /** Where this client is connected, without the key. */
  readonly address: string;
  private readonly channel: Channel;
  private readonly pending = new Map<RequestId, Pending>();
  private readonly defaultTimeout: number | undefined;
  private nextId = 1;
  private currentStatus: ClientStatus = 'ready';
  private info: ServerInfo | undefined;
  private closeReason: Error | undefined;

  /** @internal Use {@link connect}. */
  constructor(channel: Channel, endpoint: Endpoint, defaultTimeout: number | undefined) {
    super();
    this.channel = channel;
    this.address = formatEndpoint(endpoint);
    this.defaultTimeout = defaultTimeout;
    channel.setFrameHandler((payload) => this.onFrame(payload));
    channel.setFrameErrorHandler((err) => channel.destroy(err));
    channel.onClose((err) => this.onChannelClosed(err));
  }

  get status(): ClientStatus {
    return this.currentStatus;
  }

  /** The server's hello answer. */
  get server(): ServerInfo {
    if (this.info === undefined) throw new SyncmgrError('PROTOCOL_ERROR', 'hello has not completed');
    return this.info;
  }

  /** Number of requests sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** A handle on the shared dict `name` (created on the server on first use). */
  dict<V = unknown>(name: string, options?: CallOptions): DictProxy<V> {
    return new DictProxy<V>(this, name, options);
  }

  /** Round trip to the server. */
  async ping(options?: CallOptions): Promise<void> {
    await this.request('ping', undefined, undefined, [], options);
  }

  /**
   * Calls operation `op` on the shared object `name` of type `type`. The typed proxies are thin
   * wrappers over this; it is public for types that have no proxy yet.
   */
  call<T = unknown>(type: string, name: string, op: string, args: unknown[], options?: CallOptions): Promise<T> {
    return this.request(op, type, name, args, options) as Promise<T>;
  }

  /** @internal Sends hello and records the answer. */
  async hello(options?: CallOptions): Promise<ServerInfo> {
    this.info = (await this.request('hello', undefined, undefined, [{ protocol: PROTOCOL_VERSION, client: `syncmgr-js/${VERSION}` }], options)) as ServerInfo;
    return this.info;
  }

  private request(op: string, type: string | undefined, name: string | undefined, args: unknown[], options: CallOptions | undefined): Promise<unknown> {
    if (this.currentStatus !== 'ready') {
      return Promise.reject(new ConnectionClosedError(`the client is ${this.currentStatus}`, { cause: this.closeReason }));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    const id = this.nextId++;
    const text = encodeRequest(type === undefined ? { id, op, args } : { id, op, type, name, args });
    return new Promise((resolve, reject) => {
      const entry: Pending = { resolve, reject, timer: undefined, signal, onAbort: undefined };
      const timeout = options?.timeout ?? this.defaultTimeout;
      if (timeout !== undefined) {
        entry.timer = setTimeout(() => {
          this.settle(id)?.reject(new TimeoutError(`${op} got no answer within ${timeout} s (it may still have been applied)`));
        }, timeout * 1000);
      }
      if (signal !== undefined) {
        entry.onAbort = () => this.settle(id)?.reject(new AbortError(undefined, { cause: signal.reason }));
        signal.addEventListener('abort', entry.onAbort, { once: true });
      }
      this.pending.set(id, entry);
      this.channel.send(text);
    });
  }

  /** Removes a pending request and its timer/listener; returns it if it was still pending. */
  private settle(id: RequestId): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry === undefined) return undefined;
    this.pending.delete(id);
    if (entry.timer !== undefined) clearTimeout(entry.timer);
    if (entry.onAbort !== undefined) entry.signal!.removeEventListener('abort', entry.onAbort);
    return entry;
  }

  private onFrame(payload: Buffer): void {
    let message;
    try {
      message = parseServerMessage(payload);
    } catch (err) {
      this.channel.destroy(new SyncmgrError('PROTOCOL_ERROR', `unreadable message from server: ${(err as MessageError).message}`));
      return;
    }
    if ('event' in message) {
      this.emit('event', message as EventMessage);
      return;
    }
    if ('error' in message) {
      const error = fromWire(message.error);
      if (message.id === null) {
        // Not tied to a request: the server is about to close the connection and says why.
        this.closeReason = error;
        return;
      }
      this.settle(message.id)?.reject(error);
      return;
    }
    this.settle(message.id)?.resolve(message.result);
  }

  private setStatus(status: ClientStatus): void {
    if (this.currentStatus === status) return;
    this.currentStatus = status;
    this.emit('status', status);
  }

  private onChannelClosed(err?: Error): void {
    this.closeReason ??= err;
    this.setStatus('closed');
    const reason = this.closeReason;
    for (const id of [...this.pending.keys()]) {
      this.settle(id)!.reject(new ConnectionClosedError(
        reason ? `connection to ${this.address} closed: ${reason.message}` : `connection to ${this.address} closed`,
        { cause: reason },
      ));
    }
    this.emit('close', reason);
  }

  /**
   * Closes the connection. Requests still outstanding are rejected with ConnectionClosedError.
   * Resolves when the connection is gone.
   */
  async close(): Promise<void> {
    if (this.currentStatus === 'closed') return;
    const closed = new Promise<void>((resolve) => this.channel.onClose(() => resolve()));
    this.setStatus('closing');
    this.channel.end();
    await closed;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Connects, authenticates both ways and exchanges hello.
 * @throws ConfigurationError (no key), ConnectionError (unreachable, refused), AuthenticationError
 *   (wrong key), TimeoutError (connectTimeout passed).
 */
export async function connect(options: ConnectOptions = {}): Promise<Client> {
  const { endpoint, authkey } = resolveEndpoint(options);
  const timeoutS = options.connectTimeout ?? DEFAULT_CONNECT_TIMEOUT_S;
  const maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
  const timeoutSignal = AbortSignal.timeout(timeoutS * 1000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeoutSignal]) : timeoutSignal;
  const where = formatEndpoint(endpoint);

  const channel = await dial(endpoint, { maxFrameBytes, signal }).catch((err: unknown) => {
    throw timeoutSignal.aborted ? new TimeoutError(`connecting to ${where} took longer than ${timeoutS} s`, { cause: err }) : err;
  });
  channel.maxFrameBytes = HANDSHAKE_MAX_FRAME_BYTES;
  const onAbort = (): void => channel.destroy();
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    await clientHandshake(new HandshakeReader(channel, 3, maxFrameBytes), authkey);
    const client = new Client(channel, endpoint, options.timeout);
    channel.resumeReading(PauseReason.Handshake);
    await client.hello();
    return client;
  } catch (err) {
    channel.destroy();
    if (timeoutSignal.aborted) throw new TimeoutError(`connecting to ${where} took longer than ${timeoutS} s`, { cause: err });
    if (options.signal?.aborted) throw new AbortError('connect was aborted', { cause: err });
    throw err;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}
