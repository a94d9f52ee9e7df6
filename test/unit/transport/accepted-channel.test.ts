/**
 * acceptedChannel (src/transport/socket.ts): a socket accepted by a net.Server listening with
 * pauseOnConnect moves into a socket that reads through one shared buffer (`onread`). Real
 * sockets, TCP and Unix: frames whole, split across reads, several per read and larger than the
 * shared buffer all arrive intact, in both directions, while other connections read into the
 * same buffer.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeFrame, FrameDecoder } from '../../../src/protocol/frame.js';
import { acceptedChannel, type SocketChannel } from '../../../src/transport/socket.js';

const MAX_FRAME = 1024 * 1024;
const dir = mkdtempSync(join(tmpdir(), 'syncmgr-accepted-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Accepted {
  channel: SocketChannel;
  /** Whether the socket net.Server made was closed, its handle moved out. */
  acceptedDestroyed: boolean;
}

/** A server whose channels echo every frame back; resolves each accepted connection in turn. */
async function echoServer(transport: 'tcp' | 'unix'): Promise<{ server: Server; connect: () => Promise<Socket>; accepted: Accepted[] }> {
  const accepted: Accepted[] = [];
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    const channel = acceptedChannel(socket, transport, MAX_FRAME);
    channel.setFrameHandler((payload) => channel.send(Buffer.from(payload)));
    accepted.push({ channel, acceptedDestroyed: socket.destroyed });
  });
  const path = join(dir, `${transport}-${accepted.length}-${Date.now()}.sock`);
  await new Promise<void>((resolve) => (transport === 'tcp' ? server.listen(0, '127.0.0.1', resolve) : server.listen(path, resolve)));
  const connect = (): Promise<Socket> =>
    new Promise((resolve, reject) => {
      const socket = transport === 'tcp' ? createConnection((server.address() as { port: number }).port, '127.0.0.1') : createConnection(path);
      socket.setNoDelay?.(true);
      socket.once('connect', () => resolve(socket));
      socket.once('error', reject);
    });
  return { server, connect, accepted };
}

/** The payloads that come back on `socket`, `count` of them. */
function echoes(socket: Socket, count: number): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const got: Buffer[] = [];
    const decoder = new FrameDecoder(MAX_FRAME * 2, (payload) => {
      got.push(Buffer.from(payload));
      if (got.length === count) resolve(got);
    });
    socket.on('data', (chunk: Buffer) => decoder.push(chunk));
  });
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(['tcp', 'unix'] as const)('acceptedChannel over %s', (transport) => {
  it('moves the accepted socket out and reads whole, split, batched and large frames intact', async () => {
    const { server, connect, accepted } = await echoServer(transport);
    const socket = await connect();
    const large = Buffer.alloc(200 * 1024, 0);
    for (let i = 0; i < large.length; i++) large[i] = (i * 7919) % 251;
    const payloads = [Buffer.from('{"id":1}'), Buffer.from('split across reads'), Buffer.from('a'), Buffer.from('b'), large, Buffer.from('after')];
    const back = echoes(socket, payloads.length);

    socket.write(encodeFrame(payloads[0]!));
    const split = encodeFrame(payloads[1]!);
    for (let i = 0; i < split.length; i += 3) {
      socket.write(split.subarray(i, i + 3));
      await pause(2);
    }
    socket.write(Buffer.concat([encodeFrame(payloads[2]!), encodeFrame(payloads[3]!)]));
    socket.write(Buffer.concat([encodeFrame(payloads[4]!), encodeFrame(payloads[5]!)]));

    expect(await back).toEqual(payloads);
    expect(accepted).toHaveLength(1);
    // The handle moved: the socket net.Server made is gone, the connection is not.
    expect(accepted[0]!.acceptedDestroyed).toBe(true);
    expect(accepted[0]!.channel.isOpen).toBe(true);
    socket.destroy();
    await new Promise<void>((resolve) => accepted[0]!.channel.onClose(() => resolve()));
    // net.Server does not wait for the moved socket: close() completes.
    await new Promise<void>((resolve, reject) => server.close((err) => (err ? reject(err) : resolve())));
  });

  it('keeps connections apart while they read into the one buffer', async () => {
    const { server, connect, accepted } = await echoServer(transport);
    const sockets = await Promise.all([connect(), connect(), connect()]);
    const backs = sockets.map((socket) => echoes(socket, 20));
    // Interleaved: each read of one connection overwrites the buffer another's last read used,
    // and a frame cut at 5 bytes (its header and first byte, which differ per connection) waits
    // in one connection while the others read.
    const text = (index: number, round: number): string => `${'abc'[index]} frame ${round} ${'x'.repeat(round * 50 + index * 7)}`;
    for (let round = 0; round < 20; round++) {
      for (const [index, socket] of sockets.entries()) {
        const frame = encodeFrame(Buffer.from(text(index, round)));
        socket.write(frame.subarray(0, 5));
        await pause(1);
        socket.write(frame.subarray(5));
      }
    }
    const all = await Promise.all(backs);
    for (const [index, got] of all.entries()) {
      expect(got.map((payload) => payload.toString())).toEqual(
        Array.from({ length: 20 }, (_, round) => text(index, round)),
      );
    }
    for (const socket of sockets) socket.destroy();
    await Promise.all(accepted.map(({ channel }) => new Promise<void>((resolve) => channel.onClose(() => resolve()))));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

describe('acceptedChannel on a socket already closed', () => {
  it('gives a channel that closes, not an exception', async () => {
    const { server, connect } = await echoServer('tcp');
    const closedEarly = new Promise<SocketChannel>((resolve) => {
      server.removeAllListeners('connection');
      server.on('connection', (socket: Socket) => {
        socket.destroy();
        resolve(acceptedChannel(socket, 'tcp', MAX_FRAME));
      });
    });
    const socket = await connect();
    const channel = await closedEarly;
    await new Promise<void>((resolve) => channel.onClose(() => resolve()));
    expect(channel.isOpen).toBe(false);
    socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});
