/**
 * The manager server: listeners for each transport, the handshake gate, sessions, and a graceful
 * shutdown. `createServer()` is the programmatic entry point; `syncmgr serve` wraps it.
 */
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, statSync, unlinkSync } from 'node:fs';
import type { IncomingMessage, Server as HttpServer } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect as netConnect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { AuthenticationError, ConfigurationError, type PersistenceError } from '../errors.js';
import { FSYNC_POLICIES, type FsyncPolicy } from '../persistence/log-writer.js';
import { Store } from '../persistence/store.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_HOST,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_PORT,
  HANDSHAKE_MAX_FRAME_BYTES,
  REFUSED,
} from '../protocol/constants.js';
import { serverHandshake } from '../protocol/handshake.js';
import { type Endpoint, formatEndpoint } from '../transport/address.js';
import { type Channel, HandshakeReader, PauseReason } from '../transport/channel.js';
import { acceptedChannel } from '../transport/socket.js';
import { WebSocketChannel } from '../transport/websocket.js';
import { openFileLimit } from '../util/open-file-limit.js';
import { AuthThrottle } from './auth-throttle.js';
import {
  DEFAULT_MAX_HANDSHAKES,
  DEFAULT_MAX_HANDSHAKES_PER_ADDRESS,
  type HandshakeSlot,
  HandshakeSlots,
  peerKey,
} from './handshake-slots.js';
import type { RequestJournal } from '../core/effects.js';
import { RepeatLog } from './repeat-log.js';
import { isAllowedOrigin, normalizeOrigin } from './ws-origin.js';
import { MemoryStore } from '../core/memory-store.js';
import type { ObjectType } from '../core/object-type.js';
import { Session } from './session.js';
import { MemoryLimit, StorageLimits } from './storage-limits.js';

export interface ServerOptions {
  /** Shared secret both ends prove they know. Required. */
  authkey: string | Buffer;
  /** TCP host (default 127.0.0.1). */
  host?: string;
  /** TCP port (default 50000; 0 picks a free one); `false` opens no TCP listener. */
  port?: number | false;
  /** Unix socket path to listen on as well. A stale socket file there is replaced. */
  socket?: string;
  /**
   * Object types of the program's own, served beside the built-in ones; their state is persisted
   * and replayed through their `apply`, `capture` and `fill` like the built-in ones'.
   */
  types?: readonly ObjectType<any>[];
  /** WebSocket port to listen on as well (0 picks a free one), on `host`. */
  wsPort?: number;
  /** Largest frame payload accepted after the handshake, in bytes (default 16 MiB). */
  maxFrameBytes?: number;
  /**
   * Most simultaneous connections, authenticated or not (default: unlimited, but 64 below the
   * process's file descriptor limit where known). A newcomer over it takes the place of the
   * oldest connection still in its handshake; it is refused when every connection is a session.
   */
  maxConnections?: number;
  /** Most connections in their handshake at once, all addresses together (default 4096). */
  maxHandshakes?: number;
  /** Most connections in their handshake at once from one IP address (IPv6: one /64; default 1024). */
  maxHandshakesPerAddress?: number;
  /**
   * Origins (`https://app.example`) whose web pages may open WebSocket connections, besides the
   * listener's own loopback origins. Requests without an Origin header (non-browser clients) are
   * always accepted; others get HTTP 403.
   */
  wsAllowedOrigins?: string[];
  /** Permissions of the Unix socket file (default 0o600: only this user may connect). */
  socketMode?: number;
  /** Milliseconds a connection has to finish the handshake (default 10000). */
  handshakeTimeoutMs?: number;
  /**
   * Milliseconds a session may stay silent before the server ends it and releases what it holds
   * (default 15000). Clients send heartbeats at a third of this.
   */
  sessionTimeoutMs?: number;
  /** Receives one line per notable event (connections, auth failures). Default: silent. */
  log?: (line: string) => void;
  /**
   * Keep the objects in this directory across restarts (docs/PERSISTENCE.md); created if missing,
   * refused if another server uses it or its files are damaged. Default: in memory only.
   */
  dataDir?: string;
  /** When a change reaches the disk relative to its answer (default `everysec`); needs `dataDir`. */
  fsync?: FsyncPolicy;
  /** Fold the log into a snapshot once it exceeds this many bytes (default 64 MiB) and the last snapshot. */
  compactAfterBytes?: number;
  /**
   * Heap bytes in use past which writes that add data and new objects are refused with
   * `OUT_OF_MEMORY` (server/storage-limits.ts). Default unlimited.
   */
  maxMemoryBytes?: number;
  /** Most named objects; creating one more is refused with `TOO_MANY_OBJECTS`. Default unlimited. */
  maxObjects?: number;
  /** Called if writing to `dataDir` fails; the server has already stopped serving. */
  onFatalError?: (err: PersistenceError) => void;
}

/** How long close() lets clients read their last answers before cutting connections. */
const CLOSE_GRACE_MS = 1000;
const DEFAULT_SESSION_TIMEOUT_MS = 15_000;
/** Pending connections the OS queues before accept(); bursts of connecting workers are common. */
const LISTEN_BACKLOG = 4096;
/**
 * File descriptors kept free of connections (stdio, listeners, the data directory, libuv's own):
 * without --max-connections the server takes at most the descriptor limit minus this many, so
 * that it never meets EMFILE, where the kernel's pending connections would be closed unseen.
 */
const RESERVED_FILE_DESCRIPTORS = 64;
/** Least time between two log lines about failing accept() calls. */
const ACCEPT_ERROR_LOG_INTERVAL_MS = 10_000;

/** A connection from its accept until its handshake ends: its slot in the budget, its deadline. */
interface Admission {
  readonly slot: HandshakeSlot;
  readonly deadline: NodeJS.Timeout;
  /** Closes the connection: its socket before a WebSocket upgrade, its channel after. */
  kill: () => void;
}

type Listener = { endpoint: Endpoint; close(): Promise<void> };

// Not `implements SessionHost`: its registry and journal are internal, stripped from the published
// types, where the clause would not hold. Handing `this` to each Session checks the shape anyway.
export class SyncServer {
  /** @internal The shared objects, for sessions. */
  readonly registry = new MemoryStore();
  /** --max-memory's sampler, started and stopped with the server. */
  private memoryLimit: MemoryLimit | undefined;
  /** Changes on every start: clients compare it to detect a restarted server. */
  readonly instanceId = randomUUID();
  readonly maxFrameBytes: number;
  readonly sessionTimeoutMs: number;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly options: ServerOptions;
  private readonly authkey: Buffer;
  private readonly channels = new Set<Channel>();
  /** WebSocket connections admitted but still in their HTTP upgrade (not channels yet). */
  private upgrading = 0;
  private readonly sessions = new Set<Session>();
  private readonly handshakes: HandshakeSlots;
  private readonly throttle = new AuthThrottle();
  /** Lines about unauthenticated peers, folded per address. */
  private readonly peerLog = new RepeatLog((line) => this.log(line));
  /** --max-connections, or what the descriptor limit allows; set by listen(). */
  private connectionLimit = Infinity;
  private acceptErrorLoggedAt = -Infinity;
  private readonly wsAllowedOrigins: string[];
  private listeners: Listener[] = [];
  private closing = false;
  /** Set once the data directory could not be written: nothing journaled will ever be durable. */
  private persistenceBroken = false;
  private store: Store | undefined;
  /** @internal SessionHost.journal: the store when persisting, else undefined. */
  journal: RequestJournal | undefined;
  private nextSessionId = 1;

  constructor(options: ServerOptions) {
    if (options.authkey === undefined || options.authkey.length === 0) {
      throw new ConfigurationError('an authkey is required: pass --authkey, --authkey-file or set SYNCMGR_AUTHKEY');
    }
    this.options = options;
    for (const type of options.types ?? []) this.registerType(type);
    this.authkey = typeof options.authkey === 'string' ? Buffer.from(options.authkey, 'utf8') : options.authkey;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    this.wsAllowedOrigins = (options.wsAllowedOrigins ?? []).map(normalizeOrigin);
    this.handshakes = new HandshakeSlots(
      options.maxHandshakes ?? DEFAULT_MAX_HANDSHAKES,
      options.maxHandshakesPerAddress ?? DEFAULT_MAX_HANDSHAKES_PER_ADDRESS,
    );
    if (options.dataDir === undefined && (options.fsync !== undefined || options.compactAfterBytes !== undefined)) {
      throw new ConfigurationError('fsync and compaction settings need a data directory (--data-dir)');
    }
    if (options.maxMemoryBytes !== undefined || options.maxObjects !== undefined) {
      const memory = options.maxMemoryBytes !== undefined ? new MemoryLimit(options.maxMemoryBytes, (line) => this.log(line)) : undefined;
      this.memoryLimit = memory;
      this.registry.limits = new StorageLimits(memory, options.maxObjects);
    }
    if (options.fsync !== undefined && !FSYNC_POLICIES.includes(options.fsync)) {
      throw new ConfigurationError(`unknown fsync policy ${JSON.stringify(options.fsync)}; use ${FSYNC_POLICIES.join(', ')}`);
    }
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /** Addresses actually bound (ports resolved), in the order they were opened. */
  get addresses(): Endpoint[] {
    return this.listeners.map((listener) => listener.endpoint);
  }

  /** Number of open connections, including those still in the handshake or WebSocket upgrade. */
  get connectionCount(): number {
    return this.channels.size + this.upgrading;
  }

  log(line: string): void {
    this.options.log?.(line);
  }

  /** Opens every configured listener. Resolves with their addresses. */
  async listen(): Promise<Endpoint[]> {
    const host = this.options.host ?? DEFAULT_HOST;
    const fileLimit = openFileLimit();
    this.connectionLimit = Math.min(
      this.options.maxConnections ?? Infinity,
      fileLimit === undefined ? Infinity : Math.max(1, fileLimit - RESERVED_FILE_DESCRIPTORS),
    );
    if (this.options.dataDir !== undefined && this.store === undefined) {
      // Loaded before any listener opens: no client ever sees a half-loaded state.
      this.store = await Store.open(this.registry, {
        dir: this.options.dataDir,
        fsync: this.options.fsync ?? 'everysec',
        ...(this.options.compactAfterBytes !== undefined && { compactAfterBytes: this.options.compactAfterBytes }),
        log: (line) => this.log(line),
        onFatal: (err) => this.persistenceFailed(err),
      });
      this.journal = this.store;
    }
    try {
      if (this.options.port !== false) {
        this.listeners.push(await this.listenTcp(host, this.options.port ?? DEFAULT_PORT));
      }
      if (this.options.socket !== undefined) this.listeners.push(await this.listenUnix(this.options.socket));
      if (this.options.wsPort !== undefined) this.listeners.push(await this.listenWebSocket(host, this.options.wsPort));
    } catch (err) {
      await this.close();
      throw err;
    }
    if (this.listeners.length === 0) throw new ConfigurationError('nothing to listen on: enable TCP, --socket or --ws-port');
    this.memoryLimit?.start();
    const sweepEvery = Math.max(10, Math.min(1000, Math.floor(this.sessionTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), sweepEvery);
    this.sweeper.unref();
    return this.addresses;
  }

  /** Ends sessions that have been silent past the timeout: their peer is gone or half-open. */
  private sweep(): void {
    // Judged after the next I/O poll, not in this timers phase: if this process itself was stalled
    // (event loop blocked, stopped, machine asleep), live clients' heartbeats are waiting unread
    // in their sockets, and ending every session now would release the locks of live clients.
    setImmediate(() => {
      if (this.closing) return;
      const now = Date.now();
      for (const session of this.sessions) session.sweep(now);
    });
  }

  /**
   * Stops accepting, tells every client the server is going away (a `shutdown` event), lets them
   * read what was already answered, then closes every connection.
   */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    clearInterval(this.sweeper);
    this.throttle.close();
    this.peerLog.close();
    this.memoryLimit?.stop();
    const listeners = this.listeners;
    this.listeners = [];
    // Listeners stop accepting at once; an http server's close() only resolves when its upgraded
    // WebSocket connections are gone, so it is awaited after the connections are closed.
    const listenersClosed = Promise.all(listeners.map((listener) => listener.close()));
    // Blocked requests get a SHUTTING_DOWN answer while the connection can still carry it. Those
    // answers are sent from promise callbacks (microtasks): one macrotask lets every one of them
    // reach its channel before the `shutdown` event, which is the last message a client gets.
    for (const session of this.sessions) session.end('session-closed');
    await new Promise<void>((resolve) => setImmediate(resolve));
    // Under fsync `always`, answers still waiting for their sync go out before the connections close.
    const journal = this.journal;
    // After a failed write nothing more becomes durable: waiting for it would hang close(), and with
    // the grace timer unref'd the process would then just run out of work and exit with status 0.
    if (journal !== undefined && !this.persistenceBroken) {
      await Promise.race([
        new Promise<void>((resolve) => journal.whenDurable(resolve) || resolve()),
        new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref()),
      ]);
    }
    for (const session of this.sessions) session.sendEvent('shutdown', { instance: this.instanceId });
    const drained = [...this.channels].map((channel) => new Promise<void>((resolve) => {
      channel.onClose(() => resolve());
      channel.end();
    }));
    const grace = new Promise<void>((resolve) => setTimeout(resolve, CLOSE_GRACE_MS).unref());
    await Promise.race([Promise.all(drained), grace]);
    for (const channel of this.channels) channel.destroy();
    await listenersClosed;
    // Last: the sessions' releases above may still have journaled changes.
    await this.store?.close();
  }

  /**
   * Serves objects of `type` as well. Before listen(), so that a data directory holding some
   * loads them. @throws ConfigurationError when a type of that name is served already.
   */
  registerType(type: ObjectType<any>): void {
    if (this.store !== undefined || this.listeners.length > 0) throw new ConfigurationError(`register type ${JSON.stringify(type.name)} before listen()`);
    this.registry.register(type);
  }

  /** Writing the data directory failed: stop at once; whatever was not yet answered stays unknown. */
  private persistenceFailed(err: PersistenceError): void {
    this.persistenceBroken = true;
    this.log(`fatal: ${err.message}`);
    for (const channel of this.channels) channel.destroy();
    this.close()
      .catch(() => {})
      .finally(() => this.options.onFatalError?.(err));
  }

  private listenTcp(host: string, port: number): Promise<Listener> {
    const server = createNetServer({ pauseOnConnect: true }, (socket) => this.acceptSocket(socket, 'tcp'));
    return listenNet(server, { host, port, backlog: LISTEN_BACKLOG }).then(() => {
      server.on('error', (err) => this.acceptFailed(err));
      const address = server.address() as { address: string; port: number };
      return { endpoint: { transport: 'tcp', host: address.address, port: address.port }, close: () => closeNet(server) };
    });
  }

  private async listenUnix(path: string): Promise<Listener> {
    await removeStaleSocket(path);
    const server = createNetServer({ pauseOnConnect: true }, (socket) => this.acceptSocket(socket, 'unix'));
    await listenNet(server, { path, backlog: LISTEN_BACKLOG });
    // Set at once whatever the umask: the key is the gate, the mode keeps other users from even
    // knocking (and the default umask 022 would let every local user connect).
    chmodSync(path, this.options.socketMode ?? 0o600);
    server.on('error', (err) => this.acceptFailed(err));
    return { endpoint: { transport: 'unix', path }, close: () => closeNet(server) };
  }

  private async listenWebSocket(host: string, port: number): Promise<Listener> {
    // Loaded only when a WebSocket listener is asked for: `ws` and `http` cost ~10 MiB at import.
    const [{ createServer: createHttpServer }, { WebSocketServer }] = await Promise.all([import('node:http'), import('ws')]);
    const http = createHttpServer((_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain' }).end('syncmgr: connect with a WebSocket client\n');
    });
    // Until it authenticates, a connection may send no message larger than a handshake frame:
    // ws checks maxPayload against each frame's header before buffering its payload, so an
    // unauthenticated peer announcing 16 MiB is closed (1009) holding nothing. The limit is
    // raised to max-frame per connection once authenticated (WebSocketChannel.maxFrameBytes).
    // No subprotocol is negotiated (PROTOCOL.md §1.3): one offered is not echoed.
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: HANDSHAKE_MAX_FRAME_BYTES + 12,
      perMessageDeflate: false,
      handleProtocols: () => false,
    });
    const admissions = new Map<Duplex, Admission | string>();
    http.on('connection', (socket: Socket) => {
      // Admitted at the TCP accept, so that the handshake budget and deadline cover the upgrade.
      const where = `ws ${socket.remoteAddress}:${socket.remotePort}`;
      const admission = this.admit(peerKey(socket.remoteAddress), where, () => socket.destroy());
      admissions.set(socket, admission);
      // A refused one is told why in an HTTP answer to its upgrade, within the deadline.
      const refusedDeadline = typeof admission === 'string' ? setTimeout(() => socket.destroy(), this.handshakeTimeoutMs).unref() : undefined;
      if (typeof admission !== 'string') this.upgrading += 1;
      socket.once('close', () => {
        clearTimeout(refusedDeadline);
        if (admissions.get(socket) === admission && typeof admission !== 'string') {
          this.upgrading -= 1;
          this.handshakeEnded(admission);
        }
        admissions.delete(socket);
      });
    });
    http.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      const admission = admissions.get(socket);
      const { port: ownPort } = http.address() as { port: number };
      if (admission === undefined || !isAllowedOrigin(request.headers.origin, ownPort, this.wsAllowedOrigins)) {
        // Refused before the upgrade, so a web page of another origin never gets a WebSocket.
        const origin = JSON.stringify(request.headers.origin);
        this.peerLog.note(peerKey(request.socket.remoteAddress), 'more refused origins', `refused WebSocket upgrade from origin ${origin}: not allowed (--ws-allowed-origin)`);
        socket.end('HTTP/1.1 403 Forbidden\r\nConnection: close\r\nContent-Type: text/plain\r\n\r\norigin not allowed\n');
        return;
      }
      wss.handleUpgrade(request, socket, head, (webSocket) => {
        const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
        const channel = new WebSocketChannel(webSocket, remote, HANDSHAKE_MAX_FRAME_BYTES);
        admissions.delete(socket);
        if (typeof admission === 'string') {
          this.refuse(channel, peerKey(request.socket.remoteAddress), admission);
          return;
        }
        this.upgrading -= 1;
        admission.kill = () => channel.destroy();
        this.accept(channel, admission);
      });
    });
    await listenNet(http, { host, port, backlog: LISTEN_BACKLOG });
    http.on('error', (err) => this.acceptFailed(err));
    const address = http.address() as { address: string; port: number };
    const hostPart = address.address.includes(':') ? `[${address.address}]` : address.address;
    return {
      endpoint: { transport: 'ws', url: `ws://${hostPart}:${address.port}/` },
      close: async () => {
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        for (const socket of admissions.keys()) socket.destroy();
        await closeNet(http);
      },
    };
  }

  private get handshakeTimeoutMs(): number {
    return this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  }

  /**
   * accept() failed, most likely EMFILE/ENFILE (out of file descriptors): logged once per
   * interval, and the oldest handshake gives its descriptor back. Sessions are left alone.
   */
  private acceptFailed(err: NodeJS.ErrnoException): void {
    this.handshakes.evictOldestOverall();
    const now = Date.now();
    if (now - this.acceptErrorLoggedAt < ACCEPT_ERROR_LOG_INTERVAL_MS) return;
    this.acceptErrorLoggedAt = now;
    const hint = err.code === 'EMFILE' || err.code === 'ENFILE' ? ': raise the open file limit (ulimit -n) or set a lower --max-connections' : '';
    this.log(`warning: cannot accept connections: ${err.code ?? err.message}${hint}`);
  }

  /**
   * Gives a new connection a handshake slot and starts its deadline, or says why it is refused:
   * only when every connection up to the limit is an authenticated session. See
   * handshake-slots.ts for why the oldest handshake gives way to a newcomer.
   */
  private admit(peer: string, where: string, kill: () => void): Admission | string {
    if (this.closing) return 'server is shutting down';
    const tooMany = `too many connections (the server allows ${this.connectionLimit})`;
    if (this.sessions.size >= this.connectionLimit) return tooMany;
    if (this.connectionCount >= this.connectionLimit && !this.handshakes.evictOldestOverall()) return tooMany;
    const timeoutMs = this.handshakeTimeoutMs;
    const deadline = setTimeout(() => {
      this.peerLog.note(peer, 'more handshake timeouts', `handshake timed out after ${timeoutMs} ms: ${where}`);
      admission.kill();
    }, timeoutMs);
    const admission: Admission = { slot: { peer, evict: () => admission.kill() }, deadline, kill };
    this.handshakes.take(admission.slot);
    return admission;
  }

  /** The handshake is over, whichever way: its slot and deadline are freed. */
  private handshakeEnded(admission: Admission): void {
    clearTimeout(admission.deadline);
    this.handshakes.release(admission.slot);
  }

  private acceptSocket(socket: Socket, transport: 'tcp' | 'unix'): void {
    const peer = transport === 'tcp' ? peerKey(socket.remoteAddress) : 'local';
    const channel = acceptedChannel(socket, transport, HANDSHAKE_MAX_FRAME_BYTES);
    const admission = this.admit(peer, `${transport} ${channel.remoteAddress}`, () => channel.destroy());
    if (typeof admission === 'string') this.refuse(channel, peer, admission);
    else this.accept(channel, admission);
  }

  /** Tells a connection why it is not served (#REFUSED# instead of a challenge) and closes it. */
  private refuse(channel: Channel, peer: string, reason: string): void {
    this.peerLog.note(peer, 'more refusals', `refused ${channel.transport} ${channel.remoteAddress}: ${reason}`);
    channel.send(Buffer.concat([REFUSED, Buffer.from(reason, 'utf8')]));
    channel.end();
    // A refused socket gives its descriptor back at once rather than after the peer's FIN: a
    // burst of refusals must not use up the descriptors the limit keeps free. The frame is small
    // and already handed to the kernel, which still delivers it.
    if (channel.transport !== 'ws') channel.destroy();
  }

  /** Every admitted connection, whatever its transport, goes through here. */
  private accept(channel: Channel, admission: Admission): void {
    this.channels.add(channel);
    channel.onClose(() => {
      this.channels.delete(channel);
      this.handshakeEnded(admission);
    });
    // Once the client has proven the key its connection is no longer evictable: the rest of the
    // handshake (the server proving itself) is left to the deadline alone.
    const proven = (): void => this.handshakes.release(admission.slot);
    void this.authenticate(channel, admission.slot.peer, `${channel.transport} ${channel.remoteAddress}`, proven).then((authenticated) => {
      if (authenticated) this.handshakeEnded(admission);
    });
  }

  /** Runs the handshake; resolves true once the channel is a session. */
  private async authenticate(channel: Channel, peer: string, where: string, proven: () => void): Promise<boolean> {
    const reader = new HandshakeReader(channel, 3, HANDSHAKE_MAX_FRAME_BYTES);
    // Nothing is read while an address that failed too often waits for its challenge, so a
    // waiting connection holds no more than its socket.
    channel.pauseReading(PauseReason.Handshake);
    const allowed = await new Promise<boolean>((resolve) => {
      const cancel = this.throttle.whenAllowed(peer, () => resolve(true));
      channel.onClose(() => {
        cancel();
        resolve(false);
      });
    });
    if (!allowed || !channel.isOpen) return false;
    channel.resumeReading(PauseReason.Handshake);
    try {
      await serverHandshake(reader, this.authkey, {}, () => {
        reader.maxFrameBytes = this.maxFrameBytes;
        proven();
      });
    } catch (err) {
      // Counted whether or not the peer is still there: one that sends its guess and closes at
      // once must be slowed down as much as one that waits for the verdict.
      if (err instanceof AuthenticationError) this.throttle.failed(peer);
      if (channel.isOpen) {
        this.peerLog.note(peer, 'more authentication failures', `authentication failed from ${where}: ${(err as Error).message}`);
      }
      channel.end();
      return false;
    }
    if (!channel.isOpen) return false;
    this.throttle.succeeded(peer);
    channel.maxFrameBytes = this.maxFrameBytes;
    const session = new Session(this.nextSessionId++, channel, this);
    this.sessions.add(session);
    channel.onClose(() => {
      this.sessions.delete(session);
      this.log(`session ${session.sessionId} closed (${where})`);
    });
    this.log(`session ${session.sessionId} authenticated (${where})`);
    channel.resumeReading(PauseReason.Handshake);
    return true;
  }
}

/** Creates a server; call `listen()` to open its listeners. */
export function createServer(options: ServerOptions): SyncServer {
  return new SyncServer(options);
}

function listenNet(server: NetServer | HttpServer, options: { host?: string; port?: number; path?: string; backlog: number }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}

function closeNet(server: NetServer | HttpServer): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

/**
 * A socket file left by a server that died keeps `listen` from binding. Remove it only if nobody
 * answers on it: a live server there must keep its socket.
 */
async function removeStaleSocket(path: string): Promise<void> {
  if (!existsSync(path)) return;
  if (!statSync(path).isSocket()) {
    throw new ConfigurationError(`${path} exists and is not a socket; choose another --socket path`);
  }
  const alive = await new Promise<boolean>((resolve) => {
    const probe: Socket = netConnect({ path });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (alive) throw new ConfigurationError(`another server is already listening on ${formatEndpoint({ transport: 'unix', path })}`);
  unlinkSync(path);
}
