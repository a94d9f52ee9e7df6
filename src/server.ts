/**
 * `syncmgr/server`: a server inside a program (or a test). The client, the errors and the types
 * shared with it are in `syncmgr`, which loads none of this.
 *
 * @module syncmgr/server
 */
export { createServer, SyncServer } from './server/server.js';
export type { ServerOptions } from './server/server.js';
export type { FsyncPolicy } from './persistence/log-writer.js';
