/**
 * `syncmgr/server`: a server inside a program (or a test). The client, the errors and the types
 * shared with it are in `syncmgr`, which loads none of this.
 *
 * @module syncmgr/server
 */
export { createServer, SyncServer } from './server/server.js';
export type { ServerOptions } from './server/server.js';
export type { FsyncPolicy } from './persistence/log-writer.js';
// What a program needs to write an object type of its own (ServerOptions.types).
export type { CapturedItems, CapturedState, ObjectLookup, ObjectType, OpContext, Operation } from './core/object-type.js';
export type { AnyEffect } from './core/effects.js';
export type { Holding, SessionHandle, WaitOptions, WaitQueue, Waiter } from './core/waiting.js';
