/**
 * Endpoints, connection strings and dialing. One row per transport in {@link DIALERS}.
 *
 * Connection strings (docs/PROTOCOL.md §1, README "Connection string"):
 *   tcp://:KEY@127.0.0.1:50000
 *   unix:///run/syncmgr.sock?authkey=KEY
 *   ws://:KEY@127.0.0.1:50001/
 * The key may sit in the password part of the URL or in an `authkey` query parameter,
 * percent-encoded either way.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { ConfigurationError, ConnectionError } from '../errors.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../protocol/constants.js';
import type { Channel } from './channel.js';
import { ReusedReadBuffer, SocketChannel } from './socket.js';
import { WebSocketChannel } from './websocket.js';

export type Endpoint =
  | { transport: 'tcp'; host: string; port: number }
  | { transport: 'unix'; path: string }
  | { transport: 'ws'; url: string };

export interface ParsedConnectionString {
  endpoint: Endpoint;
  /** The authkey carried by the string, if any (already percent-decoded). */
  authkey?: string;
}

/** Parses `tcp://`, `unix://` and `ws://`/`wss://` connection strings. */
export function parseConnectionString(text: string): ParsedConnectionString {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new ConfigurationError(
      `not a connection string: ${JSON.stringify(redact(text))} (expected e.g. tcp://:KEY@127.0.0.1:50000)`,
    );
  }
  // Read the raw query rather than searchParams, which would turn a `+` in a key into a space.
  const rawKey = /(?:^|[?&])authkey=([^&#]*)/.exec(url.search)?.[1];
  const queryKey = rawKey === undefined ? null : percentDecode(rawKey, text);
  const authkey = queryKey ?? (url.password !== '' ? percentDecode(url.password, text) : undefined);
  const keyPart = authkey === undefined ? {} : { authkey };
  switch (url.protocol) {
    case 'tcp:': {
      const port = url.port === '' ? DEFAULT_PORT : Number(url.port);
      const host = url.hostname === '' ? DEFAULT_HOST : url.hostname.replace(/^\[(.*)\]$/, '$1');
      return { endpoint: { transport: 'tcp', host, port }, ...keyPart };
    }
    case 'unix:': {
      const path = percentDecode(url.pathname, text);
      if (path === '' || path === '/') throw new ConfigurationError('a unix:// connection string needs a socket path');
      return { endpoint: { transport: 'unix', path }, ...keyPart };
    }
    case 'ws:':
    case 'wss:': {
      // Never hand credentials to the WebSocket library: it would send them as HTTP Basic auth.
      url.username = '';
      url.password = '';
      url.searchParams.delete('authkey');
      return { endpoint: { transport: 'ws', url: url.toString() }, ...keyPart };
    }
    default:
      throw new ConfigurationError(`unsupported scheme ${url.protocol} in connection string (use tcp:, unix: or ws:)`);
  }
}

/**
 * decodeURIComponent, but a stray `%` (a key or path typed by hand, e.g. `tcp://:50%@host`) is a
 * ConfigurationError like every other bad connection string, not a bare URIError without a code.
 */
function percentDecode(part: string, text: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new ConfigurationError(
      `invalid percent-encoding in connection string ${JSON.stringify(redact(text))}: write % as %25`,
    );
  }
}

/** Hides the key in a connection string, for messages and logs. */
export function redact(text: string): string {
  return text.replace(/(\/\/[^:/@]*:)[^@/]*@/, '$1***@').replace(/(authkey=)[^&]*/, '$1***');
}

/** A printable address without credentials: `tcp://127.0.0.1:50000`, `unix:///tmp/s.sock`. */
export function formatEndpoint(endpoint: Endpoint): string {
  switch (endpoint.transport) {
    case 'tcp':
      return `tcp://${endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host}:${endpoint.port}`;
    case 'unix':
      return `unix://${endpoint.path}`;
    case 'ws':
      return endpoint.url;
  }
}

export interface DialOptions {
  /** Largest frame accepted right after connecting; the handshake lowers it while it runs. */
  maxFrameBytes: number;
  signal?: AbortSignal;
}

type Dialer = (endpoint: Endpoint, options: DialOptions) => Promise<Channel>;

/**
 * A TCP client sends keep-alive probes from this long after connecting until the server's first
 * message arrives. The server speaks first; when a burst of connects overflows its kernel's
 * accept queue, that kernel may drop a handshake it had half-completed, and the client then holds
 * a connection the server never saw, waiting for a challenge until its connectTimeout (seen in
 * runs of 10,000 connects at once). The server's kernel answers a probe on such a connection with
 * a reset (or, with SYN cookies, completes it), so the client learns of it within about this
 * long, and connect() dials again (client.ts).
 */
const PROBE_UNTIL_HEARD_MS = 1000;

const DIALERS: Record<Endpoint['transport'], Dialer> = {
  tcp: (endpoint, options) => {
    const { host, port } = endpoint as Extract<Endpoint, { transport: 'tcp' }>;
    const reads = new ReusedReadBuffer();
    const socket = netConnect({ host, port, onread: reads.onread, keepAlive: true, keepAliveInitialDelay: PROBE_UNTIL_HEARD_MS });
    return dialSocket(socket, reads, 'tcp', formatEndpoint(endpoint), options);
  },
  unix: (endpoint, options) => {
    const { path } = endpoint as Extract<Endpoint, { transport: 'unix' }>;
    const reads = new ReusedReadBuffer();
    return dialSocket(netConnect({ path, onread: reads.onread }), reads, 'unix', formatEndpoint(endpoint), options);
  },
  ws: (endpoint, options) => dialWebSocket((endpoint as Extract<Endpoint, { transport: 'ws' }>).url, options),
};

/**
 * Opens a transport connection to `endpoint`.
 * @throws ConnectionError (CONNECTION_FAILED) when the server cannot be reached.
 */
export function dial(endpoint: Endpoint, options: DialOptions): Promise<Channel> {
  return DIALERS[endpoint.transport](endpoint, options);
}

function dialSocket(socket: Socket, reads: ReusedReadBuffer, transport: 'tcp' | 'unix', where: string, options: DialOptions): Promise<Channel> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      socket.destroy();
      reject(new ConnectionError('CONNECTION_FAILED', `connecting to ${where} was aborted`));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(
        new ConnectionError('CONNECTION_FAILED', `cannot connect to ${where}: ${err.code ?? err.message}; is \`syncmgr serve\` running there?`, {
          cause: err,
        }),
      );
    });
    socket.once('connect', () => {
      options.signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      resolve(new SocketChannel(socket, transport, options.maxFrameBytes, reads, transport === 'tcp'));
    });
  });
}

async function dialWebSocket(url: string, options: DialOptions): Promise<Channel> {
  // Loaded on first use: most programs never speak WebSocket, and `ws` costs memory at import.
  const { WebSocket } = await import('ws');
  return new Promise((resolve, reject) => {
    const socket = new WebSocket(url, { maxPayload: options.maxFrameBytes + 12, perMessageDeflate: false });
    const onAbort = (): void => {
      socket.terminate();
      reject(new ConnectionError('CONNECTION_FAILED', `connecting to ${url} was aborted`));
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(
        new ConnectionError('CONNECTION_FAILED', `cannot connect to ${url}: ${err.code ?? err.message}; is \`syncmgr serve --ws-port\` running there?`, {
          cause: err,
        }),
      );
    });
    socket.once('open', () => {
      options.signal?.removeEventListener('abort', onAbort);
      socket.removeAllListeners('error');
      resolve(new WebSocketChannel(socket, url, options.maxFrameBytes));
    });
  });
}

/**
 * A connection string that carries `endpoint` and `authkey`, e.g. for SYNCMGR_URL in a worker's
 * environment. Treat it like the key itself.
 */
export function connectionString(endpoint: Endpoint, authkey: string): string {
  const key = encodeURIComponent(authkey);
  switch (endpoint.transport) {
    case 'tcp':
      return `tcp://:${key}@${formatEndpoint(endpoint).slice('tcp://'.length)}`;
    case 'unix':
      // Per segment: encodeURI would leave `?` and `#` in a path as they are, cutting it there
      // and losing the key that follows.
      return `unix://${endpoint.path.split('/').map(encodeURIComponent).join('/')}?authkey=${key}`;
    case 'ws': {
      // Appended by hand: URLSearchParams would write a space as `+`, which we read back as `+`.
      const url = new URL(endpoint.url);
      return `${url.origin}${url.pathname}${url.search === '' ? '?' : `${url.search}&`}authkey=${key}`;
    }
  }
}
