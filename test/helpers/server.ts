/** Starts real servers on ephemeral ports and tears them down after each test file. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { connect, type ConnectOptions } from '../../src/client/client.js';
import { createServer, type ServerOptions, type SyncServer } from '../../src/server/server.js';
import { connectionString, type Endpoint } from '../../src/transport/address.js';

export const AUTHKEY = 'test-secret';

export interface TestServer {
  server: SyncServer;
  tcp: Extract<Endpoint, { transport: 'tcp' }>;
  unix: Extract<Endpoint, { transport: 'unix' }>;
  ws: Extract<Endpoint, { transport: 'ws' }>;
  /** SYNCMGR_URL for the TCP listener. */
  url: string;
  /** Log lines the server produced. */
  logs: string[];
}

const cleanups: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A temporary directory removed after the file's tests. */
export function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncmgr-test-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Starts a server with TCP, Unix socket and WebSocket listeners on free ports/paths. */
export async function startServer(options: Partial<ServerOptions> = {}): Promise<TestServer> {
  const logs: string[] = [];
  const server = createServer({
    authkey: AUTHKEY,
    port: 0,
    wsPort: 0,
    socket: join(tempDir(), 'syncmgr.sock'),
    log: (line) => logs.push(line),
    ...options,
  });
  const endpoints = await server.listen();
  cleanups.push(() => server.close());
  const find = <T extends Endpoint['transport']>(t: T) => endpoints.find((e) => e.transport === t) as Extract<Endpoint, { transport: T }>;
  const tcp = find('tcp');
  return { server, tcp, unix: find('unix'), ws: find('ws'), url: tcp ? connectionString(tcp, AUTHKEY) : '', logs };
}

/** Connects a client and closes it after the file's tests. */
export async function connectTo(endpoint: Endpoint, options: ConnectOptions = {}) {
  const target =
    endpoint.transport === 'tcp'
      ? { host: endpoint.host, port: endpoint.port }
      : endpoint.transport === 'unix'
        ? { path: endpoint.path }
        : { url: endpoint.url };
  const client = await connect({ authkey: AUTHKEY, ...target, ...options });
  cleanups.push(() => client.close());
  return client;
}

/** Registers any other cleanup to run after the file's tests. */
export function onCleanup(cleanup: () => Promise<void> | void): void {
  cleanups.push(cleanup);
}
