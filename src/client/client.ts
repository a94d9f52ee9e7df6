/**
 * The client: one authenticated connection, many requests in flight on it. Requests are matched to
 * responses by id; a closed connection rejects everything still outstanding.
 */
import { EventEmitter } from 'node:events';
import {
  AbortError,
  ConnectionClosedError,
  FrameTooLargeError,
  fromWire,
  InvalidArgumentError,
  SyncmgrError,
  TimeoutError,
} from '../errors.js';
import { HANDSHAKE_MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../protocol/constants.js';
import { clientHandshake } from '../protocol/handshake.js';
import { encodeRequestFrame } from '../protocol/fast-path.js';
import { payloadLength } from '../protocol/frame.js';
import { encodeRequest, type EventMessage, MessageError, parseServerMessage, type RequestId } from '../protocol/message.js';
import { dial, type Endpoint, formatEndpoint } from '../transport/address.js';
import { type Channel, HandshakeReader, PauseReason } from '../transport/channel.js';
import type { Dump } from '../protocol/dump.js';
import { SteadyMap } from '../util/steady-map.js';
import { type LongTimeout, setLongTimeout } from '../util/timer.js';
import { VERSION } from '../version.js';
import { isFaithfulJson, unfaithfulJson } from './json-values.js';
import { type EndpointOptions, resolveEndpoint } from './options.js';
import { BarrierProxy } from './proxies/barrier.js';
import { ConditionProxy } from './proxies/condition.js';
import { DictProxy } from './proxies/dict.js';
import { EventProxy } from './proxies/event.js';
import { ListProxy } from './proxies/list.js';
import { LockProxy } from './proxies/lock.js';
import { type QueueOptions, QueueProxy } from './proxies/queue.js';
import { SemaphoreProxy } from './proxies/semaphore.js';
import { RequestTargets } from './request-targets.js';

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
  /**
   * Largest frame accepted from the server, in bytes (default 1 GiB: answers such as `items()` of
   * a large dict can be far bigger than the requests the server accepts).
   */
  maxFrameBytes?: number;
  /** Send heartbeats so the server keeps the session (default true). */
  heartbeats?: boolean;
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
  /** The server ends a session silent for this long, releasing what it holds. */
  sessionTimeoutMs: number;
  /** How often this client pings to stay alive. */
  heartbeatMs: number;
  /** `over` while the server refuses writes that add data (`--max-memory`); absent from older servers. */
  memory?: 'ok' | 'over';
}

export type ClientStatus = 'ready' | 'closing' | 'closed';

/** @internal A handle told when the server released what it held. */
export interface HeldHandle {
  markLost(reason: string): void;
}

/** One operation of an atomic batch. */
export interface AtomicOp {
  type: string;
  name: string;
  op: string;
  args?: unknown[];
  init?: Record<string, unknown>;
}

/** @internal A request before it gets its id. */
export interface OutgoingRequest {
  op: string;
  type?: string;
  name?: string;
  args: unknown[];
  init?: Record<string, unknown>;
  /** op, type and name already encoded (request-targets.ts). */
  target?: Buffer;
}

/** A request waiting for its answer. */
class Pending {
  resolve!: (value: unknown) => void;
  reject!: (err: Error) => void;
  timer: LongTimeout | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  readonly promise: Promise<unknown>;

  constructor(readonly signal: AbortSignal | undefined) {
    // Made here, the executor holds this entry only: made in request(), it held a context of
    // the request's variables, allocated for every request.
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }
}

const DEFAULT_CONNECT_TIMEOUT_S = 10;
const CLIENT_MAX_FRAME_BYTES = 1024 * 1024 * 1024;

/**
 * A connection to a syncmgr server. Emits `event` (server-initiated messages, e.g. `shutdown`),
 * `status` (on every status change) and `close` (with the error that closed it, if any).
 * @hideconstructor
 */
export class Client extends EventEmitter {
  /** Where this client is connected, without the key. */
  readonly address: string;
  private readonly channel: Channel;
  private readonly pending = new SteadyMap<RequestId, Pending>();
  private readonly defaultTimeout: number | undefined;
  private nextId = 1;
  /** Frames received from the server: a heartbeat interval that heard some needs no ping. */
  private framesHeard = 0;
  private currentStatus: ClientStatus = 'ready';
  private info: ServerInfo | undefined;
  private closeReason: Error | undefined;
  /** Handles that hold something on the server, by token: told when it is lost. */
  private readonly held = new SteadyMap<string, HeldHandle>();
  /** Whether the connection keeps the process alive now: see updateKeepAlive. Channels start so. */
  private keepingAlive = true;
  /** @internal What the proxies' requests encode once: see request-targets.ts. */
  readonly requestTargets = new RequestTargets();

  /** Not for use: call {@link connect}, which dials, authenticates and says hello first. */
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

  /** A list shared by name. */
  list<T = unknown>(name: string, options?: CallOptions): ListProxy<T> {
    return new ListProxy<T>(this, name, options);
  }

  /** A Lock: one holder at a time, FIFO, ownership per acquisition (see LockHandle). */
  lock(name: string, options?: CallOptions): LockProxy {
    return new LockProxy(this, 'lock', name, undefined, options);
  }

  /** An RLock: a handle may re-enter it (`held.acquire()`), and releases as often. */
  rlock(name: string, options?: CallOptions): LockProxy {
    return new LockProxy(this, 'rlock', name, undefined, options);
  }

  /** A Semaphore starting with `value` permits (default 1) when first created. */
  semaphore(name: string, value?: number, options?: CallOptions): SemaphoreProxy {
    return new SemaphoreProxy(this, 'semaphore', name, value, options);
  }

  /** A BoundedSemaphore: releasing beyond its initial value is an error (OUT_OF_RANGE). */
  boundedSemaphore(name: string, value?: number, options?: CallOptions): SemaphoreProxy {
    return new SemaphoreProxy(this, 'boundedSemaphore', name, value, options);
  }

  /** An Event flag. */
  event(name: string, options?: CallOptions): EventProxy {
    return new EventProxy(this, name, options);
  }

  /** A Condition, over its own lock or over the shared Lock named `lockName`. */
  condition(name: string, lockName?: string, options?: CallOptions): ConditionProxy {
    return new ConditionProxy(this, name, lockName, options);
  }

  /** A Barrier for `parties` callers (required when it is first created). */
  barrier(name: string, parties?: number, options?: CallOptions): BarrierProxy {
    return new BarrierProxy(this, name, parties, options);
  }

  /** A JoinableQueue; `maxsize` (default unbounded) applies when it is first created. */
  queue<T = unknown>(name: string, options?: QueueOptions): QueueProxy<T> {
    return new QueueProxy<T>(this, name, options);
  }

  /** Round trip to the server. */
  async ping(options?: CallOptions): Promise<void> {
    await this.request({ op: 'ping', args: [] }, options);
  }

  /**
   * Every object on the server at one instant, as a dump (JSON; docs/PERSISTENCE.md). Lock
   * holders and waiters are not part of it.
   */
  snapshot(options?: CallOptions): Promise<Dump> {
    return this.request({ op: 'snapshot', args: [] }, options) as Promise<Dump>;
  }

  /**
   * Creates the objects of a dump, with their contents, all or none. None of them may exist yet
   * (INVALID_ARGUMENT names those that do). Resolves with the number of objects restored.
   */
  async restore(dump: Dump, options?: CallOptions): Promise<number> {
    const { restored } = (await this.request({ op: 'restore', args: [dump] }, options)) as { restored: number };
    return restored;
  }

  /**
   * Calls operation `op` on the shared object `name` of type `type`. The typed proxies are thin
   * wrappers over this; it is public for types that have no proxy yet.
   */
  call<T = unknown>(type: string, name: string, op: string, args: unknown[], options?: CallOptions): Promise<T> {
    return this.request({ op, type, name, args }, options) as Promise<T>;
  }

  /**
   * Runs operations on several objects as one atomic step: no other request interleaves, and if
   * one fails none is applied (the error's `details.index` names the failed one). Nothing in a
   * batch may block: an acquire that would wait fails with WOULD_BLOCK.
   * Resolves with each operation's result, in order.
   */
  async atomic(ops: readonly AtomicOp[], options?: CallOptions): Promise<unknown[]> {
    const batch = ops.map(({ type, name, op, args, init }) => (init === undefined ? { type, name, op, args: args ?? [] } : { type, name, op, args: args ?? [], init }));
    return (await this.request({ op: 'atomic', args: [batch] }, options)) as unknown[];
  }

  /** @internal Sends hello, records the answer and starts heartbeats. */
  async hello(heartbeats: boolean, options?: CallOptions): Promise<ServerInfo> {
    this.info = (await this.request({ op: 'hello', args: [{ protocol: PROTOCOL_VERSION, client: `syncmgr-js/${VERSION}` }] }, options)) as ServerInfo;
    if (heartbeats && this.info.heartbeatMs > 0) this.startHeartbeats(this.info.heartbeatMs, this.info.sessionTimeoutMs);
    return this.info;
  }

  /**
   * Pings at the server's heartbeat interval so an idle session stays alive, and gives up on a
   * server that stops answering (a half-open connection), which closes the client and marks its
   * held locks lost. An interval in which requests went out and frames came back needs no ping:
   * the server saw our frames (which keep the session) and we saw its (which show it is there).
   * Why skip it: a busy client's first ping, 5 s after connecting, took the generic request path
   * and a timer its optimized code had never seen; V8 threw that code away (--trace-deopt:
   * `request`, `flush`, `Pending`) and took 3-4 s of locked read-modify-writes to optimize it
   * again.
   */
  private startHeartbeats(everyMs: number, timeoutMs: number): void {
    let sentBefore = this.nextId;
    let heardBefore = this.framesHeard;
    const timer = setInterval(() => {
      const busy = this.nextId !== sentBefore && this.framesHeard !== heardBefore;
      heardBefore = this.framesHeard;
      if (!busy) {
        this.request({ op: 'ping', args: [] }, { timeout: timeoutMs / 1000 }).catch((err: unknown) => {
          if (!(err instanceof TimeoutError)) return;
          // Judged after the next I/O poll, as the server judges silence: when this process itself
          // was stalled (stopped, a long GC, asleep), the timer fires before the socket is read, and
          // the answer, or the server's last events before it ended the session, wait unread.
          const heard = this.framesHeard;
          setImmediate(() => {
            if (this.framesHeard === heard) this.channel.destroy(new ConnectionClosedError(`the server did not answer a heartbeat within ${timeoutMs} ms`));
          });
        });
      }
      // Counted after our own ping, which alone does not make the next interval busy.
      sentBefore = this.nextId;
    }, everyMs);
    timer.unref();
    this.channel.onClose(() => clearInterval(timer));
  }

  /**
   * @internal A request to the server. `blocking` requests (acquire, wait, get...) wait on the
   * server as long as they need: the default call timeout does not apply, and aborting one also
   * asks the server to cancel the wait.
   */
  request(message: OutgoingRequest, options: CallOptions | undefined, blocking = false): Promise<unknown> {
    if (this.currentStatus !== 'ready') {
      return Promise.reject(new ConnectionClosedError(`the client is ${this.currentStatus}`, { cause: this.closeReason }));
    }
    const signal = options?.signal;
    if (signal?.aborted) return Promise.reject(new AbortError(undefined, { cause: signal.reason }));
    const id = this.nextId++;
    let encoded: string | Buffer;
    try {
      const unfaithful = unfaithfulRequest(message);
      if (unfaithful !== undefined) return Promise.reject(new InvalidArgumentError(`${message.op}: ${unfaithful}; nothing was sent`));
      // A whole frame written byte by byte when the request's values allow it (fast-path.ts), else JSON text.
      const frame = message.target !== undefined && message.init === undefined ? encodeRequestFrame(id, message.target, message.args) : undefined;
      encoded = frame ?? encodeRequest({ id, op: message.op, type: message.type, name: message.name, args: message.args, init: message.init });
    } catch (err) {
      // Only a value nested too deep for the stack (RangeError) lands here: the rest was refused above.
      return Promise.reject(new InvalidArgumentError(`${message.op}: its arguments cannot be encoded as JSON: ${(err as Error).message}`, { cause: err }));
    }
    const tooLarge = this.oversized(encoded, message.op);
    if (tooLarge !== undefined) return Promise.reject(tooLarge);
    const entry = new Pending(signal);
    // A blocking request carries its timeout to the server, which answers TIMEOUT itself.
    const timeout = blocking ? undefined : (options?.timeout ?? this.defaultTimeout);
    if (timeout !== undefined) entry.timer = this.timeOutLater(id, message.op, timeout);
    if (signal !== undefined) this.abortOn(signal, entry, id, blocking);
    this.pending.set(id, entry);
    if (!this.keepingAlive) this.updateKeepAlive();
    // A call answers through its promise only, even should the channel throw.
    try {
      if (typeof encoded === 'string') this.channel.send(encoded);
      else this.channel.sendFrame(encoded);
    } catch (err) {
      this.settle(id);
      return Promise.reject(err);
    }
    return entry.promise;
  }

  /** Fails request `id` with TimeoutError if it is unanswered after `timeout` seconds. */
  private timeOutLater(id: RequestId, op: string, timeout: number): LongTimeout {
    // Not setTimeout: it turns a delay over ~24.8 days into 1 ms, failing the call at once.
    return setLongTimeout(() => {
      this.settle(id)?.reject(new TimeoutError(`${op} got no answer within ${timeout} s (it may still have been applied)`));
    }, timeout * 1000);
  }

  /** Ends request `id` when `signal` aborts: at once, or, for a blocking one, through the server. */
  private abortOn(signal: AbortSignal, entry: Pending, id: RequestId, blocking: boolean): void {
    entry.onAbort = blocking
      ? // Ask the server to cancel and keep waiting for its answer: ABORTED, or a grant that
        // crossed the cancel, which the proxy then hands back, so nothing is left held.
        () => this.cancelOnServer(id)
      : () => this.settle(id)?.reject(new AbortError(undefined, { cause: signal.reason }));
    signal.addEventListener('abort', entry.onAbort, { once: true });
  }

  /**
   * An error if the request (JSON text, or a whole frame) is over the server's frame limit (known
   * from hello), which would make the server close the connection. Text is measured in bytes only
   * when its length could be over: UTF-8 takes at most 3 bytes per UTF-16 unit.
   */
  private oversized(encoded: string | Buffer, op: string): FrameTooLargeError | undefined {
    const max = this.info?.maxFrameBytes;
    if (max === undefined) return undefined;
    if (typeof encoded === 'string' && encoded.length * 3 <= max) return undefined;
    const bytes = typeof encoded === 'string' ? Buffer.byteLength(encoded, 'utf8') : payloadLength(encoded);
    if (bytes <= max) return undefined;
    return new FrameTooLargeError(
      `the ${op} request is ${bytes} bytes, over the ${max} bytes the server accepts in one frame (its --max-frame): ` +
        `send less in one request, or start the server with --max-frame ${bytes} or more`,
      bytes,
      max,
    );
  }

  /** Asks the server to stop a wait. */
  private cancelOnServer(id: RequestId): void {
    this.request({ op: 'cancel', args: [id] }, undefined).catch(() => {});
  }

  /** Removes a pending request and its timer/listener; returns it if it was still pending. */
  private settle(id: RequestId): Pending | undefined {
    const entry = this.pending.get(id);
    if (entry === undefined) return undefined;
    this.pending.delete(id);
    if (this.pending.size === 0) this.updateKeepAlive();
    entry.timer?.clear();
    if (entry.onAbort !== undefined) entry.signal!.removeEventListener('abort', entry.onAbort);
    return entry;
  }

  private onFrame(payload: Buffer): void {
    this.framesHeard++;
    let message;
    try {
      message = parseServerMessage(payload);
    } catch (err) {
      this.channel.destroy(new SyncmgrError('PROTOCOL_ERROR', `unreadable message from server: ${(err as MessageError).message}`));
      return;
    }
    if ('event' in message) {
      this.onEvent(message as EventMessage);
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

  private onEvent(event: EventMessage): void {
    if (event.event === 'lock-lost') {
      const data = event.data as { token?: unknown; reason?: unknown } | undefined;
      const handle = typeof data?.token === 'string' ? this.held.get(data.token) : undefined;
      handle?.markLost(String(data?.reason ?? 'released by the server'));
      this.emit('lock-lost', event.data);
    }
    this.emit('event', event);
  }

  /** @internal A proxy registers a handle that holds something until released. */
  trackHeld(token: string, handle: HeldHandle): void {
    this.held.set(token, handle);
    this.updateKeepAlive();
  }

  /** @internal */
  untrackHeld(token: string): void {
    this.held.delete(token);
    this.updateKeepAlive();
  }

  /**
   * Keeps the process alive while a request is unanswered or a lock or permit is held (a program
   * holding a lock while it waits for its signal must not exit under it), and while closing, so
   * the code after `await close()` runs. Otherwise an idle connection, its heartbeats and event
   * listeners included, lets the process exit: a program that forgets close() ends, and the
   * server releases the session as for any client that goes away.
   */
  private updateKeepAlive(): void {
    if (this.currentStatus === 'closed') return;
    const keep = this.currentStatus === 'closing' || this.pending.size > 0 || this.held.size > 0;
    if (keep === this.keepingAlive) return;
    this.keepingAlive = keep;
    this.channel.keepProcessAlive(keep);
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
    // Whatever this connection held, the server has released (or will, at its session timeout).
    for (const handle of this.held.values()) handle.markLost('connection-closed');
    this.held.clear();
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
    this.updateKeepAlive();
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
  const maxFrameBytes = options.maxFrameBytes ?? CLIENT_MAX_FRAME_BYTES;
  const timeoutSignal = AbortSignal.timeout(timeoutS * 1000);
  const signal = options.signal ? AbortSignal.any([options.signal, timeoutSignal]) : timeoutSignal;
  const where = formatEndpoint(endpoint);
  const timedOut = (cause: unknown): TimeoutError => new TimeoutError(`connecting to ${where} took longer than ${timeoutS} s`, { cause });

  for (let redials = 0; ; redials++) {
    let channel: Channel;
    try {
      channel = await dial(endpoint, { maxFrameBytes, signal });
    } catch (err) {
      if (timeoutSignal.aborted) throw timedOut(err);
      if (redials < MAX_REDIALS && isReset(err)) continue;
      throw err;
    }
    channel.maxFrameBytes = HANDSHAKE_MAX_FRAME_BYTES;
    const onAbort = (): void => channel.destroy();
    signal.addEventListener('abort', onAbort, { once: true });
    const reader = new HandshakeReader(channel, 3, maxFrameBytes);
    try {
      await clientHandshake(reader, authkey);
      const client = new Client(channel, endpoint, options.timeout);
      channel.resumeReading(PauseReason.Handshake);
      await client.hello(options.heartbeats ?? true);
      return client;
    } catch (err) {
      channel.destroy();
      if (timeoutSignal.aborted) throw timedOut(err);
      if (options.signal?.aborted) throw new AbortError('connect was aborted', { cause: err });
      // Reset before the server said anything: a connection its kernel dropped (address.ts
      // PROBE_UNTIL_HEARD_MS). Nothing was exchanged, so dialling again is safe.
      if (redials < MAX_REDIALS && !reader.heardAny && isReset(err)) continue;
      throw err;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }
}

/** What in a request's arguments or creation parameters JSON would not carry faithfully (json-values.ts). */
function unfaithfulRequest(message: OutgoingRequest): string | undefined {
  const { args, init } = message;
  for (let i = 0; i < args.length; i++) {
    if (!isFaithfulJson(args[i])) return unfaithfulJson(args[i], `args[${i}]`);
  }
  return init === undefined || isFaithfulJson(init) ? undefined : unfaithfulJson(init, 'init');
}

/** Dials after a reset before the server spoke, at most (see connect). */
const MAX_REDIALS = 3;

/** Whether dialling or the handshake failed because the connection was reset (ECONNRESET). */
function isReset(err: unknown): boolean {
  return err instanceof SyncmgrError && (err.cause as NodeJS.ErrnoException | undefined)?.code === 'ECONNRESET';
}
