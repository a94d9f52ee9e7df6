/**
 * A server Session and a Client, the real classes, over an in-memory channel pair instead of a
 * socket: the handshake both ways, hello, dict calls, a lock held, and the session's end giving
 * the lock back, as for a client whose process died.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { Client } from '../../../src/client/client.js';
import { SyncmgrError } from '../../../src/errors.js';
import { HANDSHAKE_MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../../../src/protocol/constants.js';
import { clientHandshake, serverHandshake } from '../../../src/protocol/handshake.js';
import { type Channel, HandshakeReader, PauseReason } from '../../../src/transport/channel.js';
import { memoryChannelPair } from '../../../src/transport/memory.js';
import { Registry } from '../../../src/server/registry.js';
import { Session, type SessionHost } from '../../../src/server/session.js';

const AUTHKEY = Buffer.from('memory pair key');
const MAX_FRAME_BYTES = 1024 * 1024;

/** A server without listeners: what a Session needs of it. */
function host(): SessionHost {
  return {
    registry: new Registry(),
    instanceId: 'in-memory',
    maxFrameBytes: MAX_FRAME_BYTES,
    isClosing: false,
    sessionTimeoutMs: 15_000,
    journal: undefined,
    log: () => {},
  };
}

/** The server's side of a connection, as the server's accept path runs it: handshake, then a Session. */
async function serve(server: SessionHost, channel: Channel, sessionId: number): Promise<Session> {
  channel.maxFrameBytes = HANDSHAKE_MAX_FRAME_BYTES;
  const reader = new HandshakeReader(channel, 3, HANDSHAKE_MAX_FRAME_BYTES);
  await serverHandshake(reader, AUTHKEY, {}, () => {
    reader.maxFrameBytes = server.maxFrameBytes;
  });
  channel.maxFrameBytes = server.maxFrameBytes;
  const session = new Session(sessionId, channel, server);
  channel.resumeReading(PauseReason.Handshake);
  return session;
}

/** The client's side, as connect() runs it after dialling: handshake, then hello. */
async function open(channel: Channel): Promise<Client> {
  channel.maxFrameBytes = HANDSHAKE_MAX_FRAME_BYTES;
  const reader = new HandshakeReader(channel, 3, MAX_FRAME_BYTES);
  await clientHandshake(reader, AUTHKEY);
  const client = new Client(channel, { transport: 'unix', path: 'memory' }, undefined);
  channel.resumeReading(PauseReason.Handshake);
  await client.hello(false);
  return client;
}

/** A session and its client, connected in memory. */
async function connectInMemory(server: SessionHost, sessionId: number): Promise<{ client: Client; session: Session; clientEnd: Channel }> {
  const [clientEnd, serverEnd] = memoryChannelPair();
  const [session, client] = await Promise.all([serve(server, serverEnd, sessionId), open(clientEnd)]);
  return { client, session, clientEnd };
}

const clients: Client[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((client) => client.close()));
});

describe('Session and Client over a memory channel pair', () => {
  it('authenticate both ways and say hello', async () => {
    const server = host();
    const { client } = await connectInMemory(server, 7);
    clients.push(client);
    expect(client.server).toMatchObject({ protocol: PROTOCOL_VERSION, instance: 'in-memory', session: 7, maxFrameBytes: MAX_FRAME_BYTES });
    await expect(client.ping()).resolves.toBeUndefined();
  });

  it('refuse a client with another key during the handshake', async () => {
    const [clientEnd, serverEnd] = memoryChannelPair();
    const served = serve(host(), serverEnd, 1).catch((err: unknown) => err);
    const reader = new HandshakeReader(clientEnd, 3, MAX_FRAME_BYTES);
    await expect(clientHandshake(reader, Buffer.from('wrong key'))).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    expect(await served).toMatchObject({ code: 'AUTH_FAILED' });
  });

  it('serve dict calls', async () => {
    const { client } = await connectInMemory(host(), 1);
    clients.push(client);
    const dict = client.dict<number>('counters');
    await dict.set('hits', 41);
    expect(await dict.incr('hits')).toBe(42);
    expect(await dict.get('hits')).toBe(42);
    const missing = await dict.pop('absent').catch((err: unknown) => err);
    expect(missing).toBeInstanceOf(SyncmgrError);
    expect(missing).toMatchObject({ code: 'KEY_NOT_FOUND' });
  });

  it('give a lock back when the session holding it ends', async () => {
    const server = host();
    const holder = await connectInMemory(server, 1);
    const other = await connectInMemory(server, 2);
    clients.push(other.client);
    await holder.client.lock('job').acquire();
    await expect(other.client.lock('job').acquire({ timeout: 0 })).rejects.toMatchObject({ code: 'TIMEOUT' });
    const waiting = other.client.lock('job').acquire({ timeout: 10 });
    // The holder's process dies: its end of the pair goes away without a word.
    holder.clientEnd.destroy();
    const granted = await waiting;
    expect(granted.lost).toBe(false);
    await granted.release();
  });
});
