/** syncmgr's public API. Everything else is internal and may change. */
export { connect, Client } from './client/client.js';
export type { CallOptions, ConnectOptions, ServerInfo, ClientStatus } from './client/client.js';
export { DictProxy } from './client/proxies/dict.js';
export type { DictEntries } from './client/proxies/dict.js';
export { createServer, SyncServer } from './server/server.js';
export type { ServerOptions } from './server/server.js';
export { connectionString, formatEndpoint, parseConnectionString } from './transport/address.js';
export type { Endpoint } from './transport/address.js';
export {
  SyncmgrError,
  AuthenticationError,
  ConnectionClosedError,
  ConnectionError,
  TimeoutError,
  AbortError,
  ConfigurationError,
  RemoteError,
} from './errors.js';
export type { ErrorCode, RemoteErrorCode, LocalErrorCode } from './errors.js';
export { PROTOCOL_VERSION, DEFAULT_PORT, DEFAULT_MAX_FRAME_BYTES } from './protocol/constants.js';
export { VERSION } from './version.js';
