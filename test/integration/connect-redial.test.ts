/**
 * connect() dials again when a TCP connection is reset before the server has said anything: the
 * keep-alive probes a client sends until it first hears from the server (transport/address.ts)
 * turn a connection the server's kernel dropped during a burst of connects into such a reset.
 * Real sockets: a TCP front that resets, ends or forwards each connection to a real server.
 */
import { connect as netConnect, createServer as createNetServer, type Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { connect } from '../../src/client/client.js';
import { ConnectionClosedError } from '../../src/errors.js';
import { AUTHKEY, onCleanup, startServer, type TestServer } from '../helpers/server.js';

let server: TestServer;
beforeAll(async () => {
  server = await startServer();
});

/**
 * reset: at once (the client may still be connecting); reset-later: once the client is connected;
 * reset-after-challenge: once the server's first message has reached the client.
 */
type Treatment = 'reset' | 'reset-later' | 'reset-after-challenge' | 'end' | 'forward';

/** A TCP front whose n-th connection (from 0) gets `treat(n)`; resolves with its URL and a count. */
async function front(treat: (n: number) => Treatment): Promise<{ url: string; connections: () => number }> {
  let count = 0;
  const listener = createNetServer((socket: Socket) => {
    const treatment = treat(count++);
    if (treatment === 'reset') socket.resetAndDestroy();
    else if (treatment === 'reset-later') setTimeout(() => socket.resetAndDestroy(), 50);
    else if (treatment === 'end') socket.end();
    else if (treatment === 'reset-after-challenge') {
      const upstream = netConnect(server.tcp.port, server.tcp.host);
      upstream.once('data', (challenge: Buffer) => {
        upstream.destroy();
        socket.write(challenge, () => setTimeout(() => socket.resetAndDestroy(), 50));
      });
    } else {
      const upstream = netConnect(server.tcp.port, server.tcp.host);
      socket.pipe(upstream).pipe(socket);
      socket.on('error', () => upstream.destroy());
      upstream.on('error', () => socket.destroy());
    }
  });
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise<void>((resolve) => listener.close(() => resolve())));
  const { port } = listener.address() as { port: number };
  return { url: `tcp://:${AUTHKEY}@127.0.0.1:${port}`, connections: () => count };
}

describe('connect() after a reset before the server spoke', () => {
  it('dials again and connects', async () => {
    // One reset while connecting, one after: the two ways a dropped connection shows.
    const { url, connections } = await front((n) => (n === 0 ? 'reset-later' : n === 1 ? 'reset' : 'forward'));
    const client = await connect({ url, heartbeats: false });
    onCleanup(() => client.close());
    expect(connections()).toBe(3);
    expect(await client.dict<number>('redial').incr('k')).toBe(1);
  });

  it('gives up after 3 more dials, failing with the reset as the cause', async () => {
    const { url, connections } = await front(() => 'reset-later');
    const failure = await connect({ url, heartbeats: false }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ConnectionClosedError);
    expect(((failure as Error).cause as NodeJS.ErrnoException).code).toBe('ECONNRESET');
    expect(connections()).toBe(4);
  });

  it('does not dial again after the server has spoken', async () => {
    const { url, connections } = await front(() => 'reset-after-challenge');
    const failure = await connect({ url, heartbeats: false }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ConnectionClosedError);
    expect(connections()).toBe(1);
  });

  it('does not dial again when the server closes without a reset', async () => {
    const { url, connections } = await front(() => 'end');
    const failure = await connect({ url, heartbeats: false }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ConnectionClosedError);
    expect(connections()).toBe(1);
  });
});
