/** Turns connect() options, a connection string and the environment into an endpoint and a key. */
import { ConfigurationError } from '../errors.js';
import { DEFAULT_HOST, DEFAULT_PORT } from '../protocol/constants.js';
import { type Endpoint, parseConnectionString } from '../transport/address.js';

export interface EndpointOptions {
  /** Connection string: `tcp://:KEY@host:port`, `unix:///path?authkey=KEY`, `ws://host:port/`. */
  url?: string;
  /** TCP host (default 127.0.0.1). */
  host?: string;
  /** TCP port (default 50000). */
  port?: number;
  /** Unix socket path. */
  path?: string;
  /** The shared secret; a string is used as its UTF-8 bytes. */
  authkey?: string | Buffer;
  /** Where SYNCMGR_URL and SYNCMGR_AUTHKEY are read (default `process.env`). */
  env?: Record<string, string | undefined>;
}

export interface ResolvedEndpoint {
  endpoint: Endpoint;
  authkey: Buffer;
}

/**
 * Precedence: `url`, then `path`, then `host`/`port`, then SYNCMGR_URL, then 127.0.0.1:50000.
 * The key: `authkey`, then the one inside the connection string used, then SYNCMGR_AUTHKEY.
 * @throws ConfigurationError when no key is found or the connection string is invalid.
 */
export function resolveEndpoint(options: EndpointOptions): ResolvedEndpoint {
  const env = options.env ?? process.env;
  let endpoint: Endpoint;
  let urlKey: string | undefined;
  if (options.url !== undefined) {
    ({ endpoint, authkey: urlKey } = parseConnectionString(options.url));
  } else if (options.path !== undefined) {
    endpoint = { transport: 'unix', path: options.path };
  } else if (options.host !== undefined || options.port !== undefined) {
    endpoint = { transport: 'tcp', host: options.host ?? DEFAULT_HOST, port: options.port ?? DEFAULT_PORT };
  } else if (env.SYNCMGR_URL) {
    ({ endpoint, authkey: urlKey } = parseConnectionString(env.SYNCMGR_URL));
  } else {
    endpoint = { transport: 'tcp', host: DEFAULT_HOST, port: DEFAULT_PORT };
  }
  const key = options.authkey ?? urlKey ?? env.SYNCMGR_AUTHKEY;
  if (key === undefined || key.length === 0) {
    throw new ConfigurationError(
      'no authkey: pass { authkey }, put it in the connection string (tcp://:KEY@host:port) or set SYNCMGR_AUTHKEY',
    );
  }
  return { endpoint, authkey: typeof key === 'string' ? Buffer.from(key, 'utf8') : key };
}
