/** Unauthenticated peers for the admission tests: idle socket holders and key guessers. */
import { randomBytes } from 'node:crypto';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { connect as netConnect, type Socket } from 'node:net';
import { RawClient } from './raw-client.js';
import { onCleanup } from './server.js';

export interface IdleHolders {
  /** Sockets currently connected. */
  readonly open: number;
  /** Connections opened so far, reconnections included. */
  readonly opened: number;
  stop(): void;
}

/**
 * Holds `count` connections open without ever speaking, opening a new one 100 ms after one is
 * closed (by the server's deadline, an eviction or a refusal), as an attacker would.
 * `greeting` is written once on each connection (e.g. the start of an HTTP request).
 */
export function holdIdle(target: { host: string; port: number; localAddress?: string }, count: number, greeting?: string): IdleHolders {
  let stopped = false;
  let open = 0;
  let opened = 0;
  const sockets = new Set<Socket>();
  const dial = (): void => {
    if (stopped) return;
    const socket = netConnect(target);
    opened += 1;
    sockets.add(socket);
    let connected = false;
    socket.on('connect', () => {
      connected = true;
      open += 1;
      if (greeting !== undefined) socket.write(greeting);
    });
    socket.on('error', () => {});
    socket.on('data', () => {});
    socket.on('close', () => {
      if (connected) open -= 1;
      sockets.delete(socket);
      setTimeout(dial, 100).unref();
    });
  };
  for (let i = 0; i < count; i++) dial();
  const holders = {
    get open() {
      return open;
    },
    get opened() {
      return opened;
    },
    stop() {
      stopped = true;
      for (const socket of sockets) socket.destroy();
    },
  };
  onCleanup(() => holders.stop());
  return holders;
}

/** One key guess from `localAddress`: resolves true if the server answered #FAILURE#. */
export async function guessKey(target: { transport: 'tcp'; host: string; port: number }, localAddress: string, waitMs = 5000): Promise<boolean> {
  const raw = await RawClient.connect(target, { authkey: false, localAddress });
  try {
    await Promise.race([
      raw.handshake(randomBytes(8).toString('hex')),
      new Promise((_, reject) => setTimeout(() => reject(new Error('no verdict in time')), waitMs).unref()),
    ]);
    return false;
  } catch (err) {
    return (err as { code?: string }).code === 'AUTH_FAILED';
  } finally {
    raw.destroy();
  }
}

/** The answer to a WebSocket upgrade request carrying `headers` (the socket is closed). */
export function upgradeResponse(port: number, headers: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/',
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Key': randomBytes(16).toString('base64'),
        ...headers,
      },
    });
    request.on('upgrade', (response, socket) => {
      socket.destroy();
      resolve({ status: 101, headers: response.headers });
    });
    request.on('response', (response) => {
      response.resume();
      resolve({ status: response.statusCode ?? 0, headers: response.headers });
    });
    request.on('error', reject);
    request.end();
  });
}

/**
 * Upgrades a raw socket to a WebSocket by hand and returns it, so that frames can be written
 * byte by byte (a real client would refuse to announce what it does not send).
 */
export function rawWebSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({
      host: '127.0.0.1',
      port,
      path: '/',
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': randomBytes(16).toString('base64') },
    });
    request.on('upgrade', (_response, socket) => {
      socket.on('error', () => {});
      // Read (and drop) what the server sends, so that its close is seen.
      socket.resume();
      onCleanup(() => void socket.destroy());
      resolve(socket);
    });
    request.on('response', (response) => reject(new Error(`upgrade refused: HTTP ${response.statusCode}`)));
    request.on('error', reject);
    request.end();
  });
}

/** A masked binary WebSocket frame header announcing `length` bytes of payload (64-bit length form). */
export function binaryFrameHeader(length: number): Buffer {
  const header = Buffer.alloc(14);
  header[0] = 0x82; // FIN + binary
  header[1] = 0x80 | 127; // masked, 64-bit length
  header.writeBigUInt64BE(BigInt(length), 2);
  header.writeUInt32BE(0, 10); // mask key 0: payload bytes go as they are
  return header;
}
