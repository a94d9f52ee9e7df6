/** syncmgr's public API. Everything else is internal and may change. */
export { connect, Client } from './client/client.js';
export type { AtomicOp, CallOptions, ConnectOptions, ServerInfo, ClientStatus } from './client/client.js';
export type { WaitCallOptions } from './client/proxies/base.js';
export { DictProxy } from './client/proxies/dict.js';
export type { DictEntries } from './client/proxies/dict.js';
export { ListProxy } from './client/proxies/list.js';
export { LockProxy, LockHandle } from './client/proxies/lock.js';
export type { LockState } from './client/proxies/lock.js';
export { ConditionProxy, ConditionHandle } from './client/proxies/condition.js';
export { SemaphoreProxy, PermitHandle } from './client/proxies/semaphore.js';
export type { SemaphoreState } from './client/proxies/semaphore.js';
export { EventProxy } from './client/proxies/event.js';
export { BarrierProxy } from './client/proxies/barrier.js';
export type { BarrierState } from './client/proxies/barrier.js';
export { QueueProxy } from './client/proxies/queue.js';
export type { QueueOptions, QueueState } from './client/proxies/queue.js';
export { createServer, SyncServer } from './server/server.js';
export type { ServerOptions } from './server/server.js';
// What a program needs to write an object type of its own (ServerOptions.types).
export type { CapturedItems, CapturedState, ObjectLookup, ObjectType, OpContext, Operation } from './core/object-type.js';
export type { AnyEffect } from './core/effects.js';
export type { Holding, SessionHandle, WaitOptions, WaitQueue, Waiter } from './core/waiting.js';
export type { FsyncPolicy } from './persistence/log-writer.js';
export type { Dump } from './persistence/dump.js';
export type { ObjectImage } from './persistence/state.js';
export { connectionString, formatEndpoint, parseConnectionString } from './transport/address.js';
export type { Endpoint, ParsedConnectionString } from './transport/address.js';
export {
  SyncmgrError,
  AuthenticationError,
  ConnectionClosedError,
  ConnectionError,
  TimeoutError,
  AbortError,
  ConfigurationError,
  InvalidArgumentError,
  FrameTooLargeError,
  ResultTooLargeError,
  RemoteError,
  PersistenceError,
} from './errors.js';
export type { ErrorCode, RemoteErrorCode, LocalErrorCode } from './errors.js';
export { PROTOCOL_VERSION, DEFAULT_PORT, DEFAULT_MAX_FRAME_BYTES } from './protocol/constants.js';
export { VERSION } from './version.js';
