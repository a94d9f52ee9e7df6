/**
 * The manager server: listeners for each transport, the handshake gate, sessions, and a graceful
 * shutdown. `createServer()` is the programmatic entry point; `syncmgr serve` wraps it.
 */
import { randomUUID } from 'node:crypto';
import { existsSync, statSync, unlinkSync } from 'node:fs';
import type { Server as HttpServer } from 'node:http';
import { connect as netConnect, createServer as createNetServer, type Server as NetServer, type Socket } from 'node:net';
import { ConfigurationError, type PersistenceError } from '../errors.js';
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
import type { RequestJournal } from './journal.js';
import { Registry } from './registry.js';
import { Session, type SessionHost } from './session.js';
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
  /** WebSocket port to listen on as well (0 picks a free one), on `host`. */
  wsPort?: number;
  /** Largest frame payload accepted after the handshake, in bytes (default 16 MiB). */
  maxFrameBytes?: number;
  /** Most simultaneous connections, authenticated or not (default unlimited). */
  maxConnections?: number;
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

type Listener = { endpoint: Endpoint; close(): Promise<void> };

export class SyncServer implements SessionHost {
  readonly registry = new Registry();
  /** Changes on every start: clients compare it to detect a restarted server. */
  readonly instanceId = randomUUID();
  readonly maxFrameBytes: number;
  readonly sessionTimeoutMs: number;
  /** Coarse clock for session liveness, refreshed by the sweeper. */
  now = Date.now();
  private sweeper: NodeJS.Timeout | undefined;
  private readonly options: ServerOptions;
  private readonly authkey: Buffer;
  private readonly channels = new Set<Channel>();
  private readonly sessions = new Set<Session>();
  private listeners: Listener[] = [];
  private closing = false;
  private store: Store | undefined;
  /** {@link SessionHost.journal}: the store when persisting, else undefined. */
  journal: RequestJournal | undefined;
  private nextSessionId = 1;

  constructor(options: ServerOptions) {
    if (options.authkey === undefined || options.authkey.length === 0) {
      throw new ConfigurationError('an authkey is required: pass --authkey, --authkey-file or set SYNCMGR_AUTHKEY');
    }
    this.options = options;
    this.authkey = typeof options.authkey === 'string' ? Buffer.from(options.authkey, 'utf8') : options.authkey;
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.sessionTimeoutMs = options.sessionTimeoutMs ?? DEFAULT_SESSION_TIMEOUT_MS;
    if (options.dataDir === undefined && (options.fsync !== undefined || options.compactAfterBytes !== undefined)) {
      throw new ConfigurationError('fsync and compaction settings need a data directory (--data-dir)');
    }
    if (options.maxMemoryBytes !== undefined || options.maxObjects !== undefined) {
      const memory = options.maxMemoryBytes !== undefined ? new MemoryLimit(options.maxMemoryBytes, (line) => this.log(line)) : undefined;
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

  /** Number of open connections, including those still in the handshake. */
  get connectionCount(): number {
    return this.channels.size;
  }

  log(line: string): void {
    this.options.log?.(line);
  }

  /** Opens every configured listener. Resolves with their addresses. */
  async listen(): Promise<Endpoint[]> {
    const host = this.options.host ?? DEFAULT_HOST;
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
    this.registry.limits?.memory?.start();
    const sweepEvery = Math.max(10, Math.min(1000, Math.floor(this.sessionTimeoutMs / 4)));
    this.sweeper = setInterval(() => this.sweep(), sweepEvery);
    this.sweeper.unref();
    return this.addresses;
  }

  /** Ends sessions that have been silent past the timeout: their peer is gone or half-open. */
  private sweep(): void {
    this.now = Date.now();
    // Judged after the next I/O poll, not in this timers phase: if this process itself was stalled
    // (event loop blocked, stopped, machine asleep), live clients' heartbeats are waiting unread
    // in their sockets, and ending every session now would release the locks of live clients.
    setImmediate(() => {
      if (this.closing) return;
      for (const session of this.sessions) {
        if (this.now - session.lastSeen > this.sessionTimeoutMs) session.end('session-timeout');
      }
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
    this.registry.limits?.memory?.stop();
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
    if (journal !== undefined) {
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

  /** Writing the data directory failed: stop at once; whatever was not yet answered stays unknown. */
  private persistenceFailed(err: PersistenceError): void {
    this.log(`fatal: ${err.message}`);
    for (const channel of this.channels) channel.destroy();
    this.close()
      .catch(() => {})
      .finally(() => this.options.onFatalError?.(err));
  }

  private listenTcp(host: string, port: number): Promise<Listener> {
    const server = createNetServer({ pauseOnConnect: true }, (socket) => this.accept(acceptedChannel(socket, 'tcp', HANDSHAKE_MAX_FRAME_BYTES)));
    return listenNet(server, { host, port, backlog: LISTEN_BACKLOG }).then(() => {
      const address = server.address() as { address: string; port: number };
      return { endpoint: { transport: 'tcp', host: address.address, port: address.port }, close: () => closeNet(server) };
    });
  }

  private async listenUnix(path: string): Promise<Listener> {
    await removeStaleSocket(path);
    const server = createNetServer({ pauseOnConnect: true }, (socket) => this.accept(acceptedChannel(socket, 'unix', HANDSHAKE_MAX_FRAME_BYTES)));
    await listenNet(server, { path, backlog: LISTEN_BACKLOG });
    return { endpoint: { transport: 'unix', path }, close: () => closeNet(server) };
  }

  private async listenWebSocket(host: string, port: number): Promise<Listener> {
    // Loaded only when a WebSocket listener is asked for: `ws` and `http` cost ~10 MiB at import.
    const [{ createServer: createHttpServer }, { WebSocketServer }] = await Promise.all([import('node:http'), import('ws')]);
    const http = createHttpServer((_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain' }).end('syncmgr: connect with a WebSocket client\n');
    });
    // Our own frame check runs on each message; ws only guards the transport-level size.
    const wss = new WebSocketServer({ server: http, maxPayload: this.maxFrameBytes + 12, perMessageDeflate: false });
    wss.on('connection', (socket, request) => {
      const remote = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
      this.accept(new WebSocketChannel(socket, remote, HANDSHAKE_MAX_FRAME_BYTES));
    });
    await listenNet(http, { host, port, backlog: LISTEN_BACKLOG });
    const address = http.address() as { address: string; port: number };
    const hostPart = address.address.includes(':') ? `[${address.address}]` : address.address;
    return {
      endpoint: { transport: 'ws', url: `ws://${hostPart}:${address.port}/` },
      close: async () => {
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await closeNet(http);
      },
    };
  }

  /** Every new connection, whatever its transport, goes through here. */
  private accept(channel: Channel): void {
    const where = `${channel.transport} ${channel.remoteAddress}`;
    const limit = this.options.maxConnections;
    if (this.closing || (limit !== undefined && this.channels.size >= limit)) {
      const reason = this.closing ? 'server is shutting down' : `too many connections (the server allows ${limit})`;
      this.log(`refused ${where}: ${reason}`);
      channel.send(Buffer.concat([REFUSED, Buffer.from(reason, 'utf8')]));
      channel.end();
      return;
    }
    this.channels.add(channel);
    channel.onClose(() => this.channels.delete(channel));
    this.log(`connection from ${where}`);
    void this.authenticate(channel, where);
  }

  private async authenticate(channel: Channel, where: string): Promise<void> {
    const timeoutMs = this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
    const deadline = setTimeout(() => {
      this.log(`handshake timed out after ${timeoutMs} ms: ${where}`);
      channel.destroy();
    }, timeoutMs);
    try {
      await serverHandshake(new HandshakeReader(channel, 3, this.maxFrameBytes), this.authkey);
    } catch (err) {
      if (channel.isOpen) this.log(`authentication failed from ${where}: ${(err as Error).message}`);
      channel.end();
      return;
    } finally {
      clearTimeout(deadline);
    }
    if (!channel.isOpen) return;
    const session = new Session(this.nextSessionId++, channel, this);
    this.sessions.add(session);
    channel.onClose(() => {
      this.sessions.delete(session);
      this.log(`session ${session.sessionId} closed (${where})`);
    });
    this.log(`session ${session.sessionId} authenticated (${where})`);
    channel.resumeReading(PauseReason.Handshake);
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
