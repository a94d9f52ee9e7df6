/**
 * A server that authenticates (with the real handshake of src/protocol/handshake.ts), answers
 * `hello`, and then never answers anything else: the deterministic way to keep a call pending for
 * timeout, abort and close tests. It records every request it received. Closed after the file's
 * tests. With `answerAll` it answers every request at once (`null`, `"pong"` to a ping) but does
 * nothing else: what a client sends, heartbeats included, can then be read off `requests`.
 */
import { createServer as createHttpServer } from 'node:http';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { WebSocketServer } from 'ws';
import { HANDSHAKE_MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { serverHandshake } from '../../src/protocol/handshake.js';
import { encodeResult, parseRequest, type Request } from '../../src/protocol/message.js';
import type { Endpoint } from '../../src/transport/address.js';
import { type Channel, HandshakeReader, PauseReason } from '../../src/transport/channel.js';
import { SocketChannel } from '../../src/transport/socket.js';
import { WebSocketChannel } from '../../src/transport/websocket.js';
import { AUTHKEY, onCleanup, tempDir } from './server.js';

export interface SilentServer {
  endpoint: Endpoint;
  /** Every request received after the handshake, hello included, in arrival order. */
  requests: Request[];
  /** Resolves once `count` requests (hello included) have arrived. */
  received(count: number): Promise<void>;
  /** Open connections (authenticated or not). */
  readonly connections: number;
}

export interface SilentServerOptions {
  /** The hello answer's heartbeatMs (default 0: no heartbeats, which would go unanswered). */
  heartbeatMs?: number;
  /** The hello answer's sessionTimeoutMs (default 60 000). */
  sessionTimeoutMs?: number;
  /** Answer every request, not only hello. */
  answerAll?: boolean;
}

export async function startSilentServer(transport: 'tcp' | 'unix' | 'ws', options: SilentServerOptions = {}): Promise<SilentServer> {
  const requests: Request[] = [];
  const channels = new Set<Channel>();
  const arrivals: Array<{ count: number; resolve: () => void }> = [];

  const accept = (channel: Channel): void => {
    channels.add(channel);
    channel.onClose(() => channels.delete(channel));
    void (async () => {
      try {
        await serverHandshake(new HandshakeReader(channel, 3, 1024 * 1024), Buffer.from(AUTHKEY, 'utf8'));
      } catch {
        channel.destroy();
        return;
      }
      channel.setFrameHandler((payload) => {
        const request = parseRequest(payload);
        requests.push(request);
        for (const waiter of arrivals.filter((w) => requests.length >= w.count)) {
          arrivals.splice(arrivals.indexOf(waiter), 1);
          waiter.resolve();
        }
        if (request.op === 'hello') {
          channel.send(
            encodeResult(request.id, {
              protocol: PROTOCOL_VERSION,
              server: 'silent-test-server',
              instance: 'silent',
              session: 1,
              maxFrameBytes: 1024 * 1024,
              sessionTimeoutMs: options.sessionTimeoutMs ?? 60_000,
              heartbeatMs: options.heartbeatMs ?? 0,
            }),
          );
        } else if (options.answerAll === true) {
          channel.send(encodeResult(request.id, request.op === 'ping' ? 'pong' : null));
        }
      });
      channel.resumeReading(PauseReason.Handshake);
    })();
  };

  let endpoint: Endpoint;
  if (transport === 'ws') {
    const http = createHttpServer();
    const wss = new WebSocketServer({ server: http, perMessageDeflate: false });
    wss.on('connection', (socket) => accept(new WebSocketChannel(socket, 'test peer', HANDSHAKE_MAX_FRAME_BYTES)));
    await listen(http, { host: '127.0.0.1', port: 0 });
    const { port } = http.address() as { port: number };
    endpoint = { transport: 'ws', url: `ws://127.0.0.1:${port}/` };
    onCleanup(async () => {
      for (const channel of channels) channel.destroy();
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await new Promise<void>((resolve) => http.close(() => resolve()));
    });
  } else {
    const server = createNetServer((socket) => accept(new SocketChannel(socket, transport, HANDSHAKE_MAX_FRAME_BYTES)));
    if (transport === 'tcp') {
      await listen(server, { host: '127.0.0.1', port: 0 });
      endpoint = { transport: 'tcp', host: '127.0.0.1', port: (server.address() as { port: number }).port };
    } else {
      const path = join(tempDir(), 'silent.sock');
      await listen(server, { path });
      endpoint = { transport: 'unix', path };
    }
    onCleanup(async () => {
      for (const channel of channels) channel.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
  }

  return {
    endpoint,
    requests,
    received: (count) =>
      requests.length >= count ? Promise.resolve() : new Promise<void>((resolve) => arrivals.push({ count, resolve })),
    get connections() {
      return channels.size;
    },
  };
}

function listen(server: NetServer | ReturnType<typeof createHttpServer>, options: { host?: string; port?: number; path?: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
