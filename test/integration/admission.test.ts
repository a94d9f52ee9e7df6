/**
 * Unauthenticated peers must not lock others out or cost the server memory (issue 18 §2, §4, §7):
 * the handshake budget, the deadline over the WebSocket upgrade, key-guessing throttling, the
 * WebSocket Origin check, no subprotocol, and the small pre-authentication frame limit.
 */
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/client.js';
import { computeAnswer, deliverChallenge } from '../../src/protocol/handshake.js';
import { binaryFrameHeader, guessKey, holdIdle, rawWebSocket, upgradeResponse } from '../helpers/attackers.js';
import { AUTHKEY, connectTo, onCleanup, startServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const wsPort = (url: string) => Number(new URL(url).port);

describe('the handshake budget', () => {
  it('lets a client with the key in within 1 s while idle sockets hold every slot of --max-connections', async () => {
    const srv = await startServer({ maxConnections: 200 });
    const attack = holdIdle(srv.tcp, 200);
    await until(() => srv.server.connectionCount >= 200);
    const client = await connectTo(srv.tcp, { connectTimeout: 1, heartbeats: false });
    expect(await client.dict('d').incr('n')).toBe(1);
    attack.stop();
    await client.close();
  });

  it('holds one address to its per-address budget and lets other addresses in within 1 s', async () => {
    const srv = await startServer({ maxHandshakesPerAddress: 20 });
    const attack = holdIdle({ ...srv.tcp, localAddress: '127.0.0.2' }, 60);
    await until(() => attack.opened >= 80);
    await sleep(300);
    // Evicted sockets are counted out when their close event comes: a little slack.
    expect(srv.server.connectionCount).toBeLessThanOrEqual(25);
    const client = await connectTo(srv.tcp, { connectTimeout: 1, heartbeats: false });
    expect(await client.dict('d').incr('n')).toBe(1);
    attack.stop();
    await client.close();
  });

  it('gives a connection that never finishes its WebSocket upgrade no more than the handshake deadline', async () => {
    const srv = await startServer({ handshakeTimeoutMs: 500 });
    const attack = holdIdle({ host: '127.0.0.1', port: wsPort(srv.ws.url) }, 1, 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n');
    await until(() => attack.opened >= 2, 3000);
    attack.stop();
  });

  it('counts WebSocket connections still in their HTTP upgrade against --max-connections', async () => {
    const srv = await startServer({ maxConnections: 10 });
    const attack = holdIdle({ host: '127.0.0.1', port: wsPort(srv.ws.url) }, 10);
    await until(() => attack.open >= 10);
    await sleep(300);
    expect(srv.server.connectionCount).toBe(10);
    const client = await connectTo(srv.ws, { connectTimeout: 1, heartbeats: false });
    expect(await client.dict('d').incr('n')).toBe(1);
    attack.stop();
    await client.close();
  });

  it('evicts no connection whose client has proven the key, while the server proves itself', async () => {
    const srv = await startServer({ maxHandshakes: 2 });
    const raw = await RawClient.connect(srv.tcp, { authkey: false });
    const challenge = await raw.nextFrame();
    raw.send(computeAnswer(Buffer.from(AUTHKEY), challenge.subarray('#CHALLENGE#'.length)));
    expect((await raw.nextFrame()).toString('latin1')).toBe('#WELCOME#');
    const idle = await Promise.all([1, 2, 3].map(() => RawClient.connect(srv.tcp, { authkey: false })));
    await idle[0]!.waitClosed();
    expect(raw.isClosed).toBe(false);
    await deliverChallenge(raw, Buffer.from(AUTHKEY));
    await raw.hello();
  });
});

describe('key guessing', () => {
  it('spaces out the tries of an address that keeps failing, logs it about once a second, and leaves other addresses alone', { timeout: 20_000 }, async () => {
    const srv = await startServer();
    const started = Date.now();
    const failuresAt: number[] = [];
    const guessers = [1, 2, 3, 4].map(async () => {
      while (Date.now() - started < 4000) {
        if (await guessKey(srv.tcp, '127.0.0.2')) failuresAt.push(Date.now() - started);
      }
    });
    await sleep(2000);
    const client = await connectTo(srv.tcp, { connectTimeout: 1, heartbeats: false });
    expect(await client.dict('d').incr('n')).toBe(1);
    await Promise.all(guessers);
    // After the free tries the address gets at most 10 challenges a second: 20 in the last 2 s.
    expect(failuresAt.length).toBeGreaterThan(5);
    expect(failuresAt.filter((at) => at >= 2000).length).toBeLessThanOrEqual(22);
    await sleep(1100);
    const aboutAttacker = srv.logs.filter((line) => line.includes('127.0.0.2'));
    // A burst of 5 lines (repeat-log.ts), then about one a second.
    expect(aboutAttacker.length).toBeLessThanOrEqual(12);
    expect(aboutAttacker.some((line) => /\d+ more authentication failures/.test(line))).toBe(true);
    await client.close();
  });
});

describe('the WebSocket upgrade', () => {
  it('accepts requests without Origin and from its own loopback origins, and answers 403 to others', async () => {
    const srv = await startServer();
    const port = wsPort(srv.ws.url);
    expect((await upgradeResponse(port, {})).status).toBe(101);
    expect((await upgradeResponse(port, { Origin: `http://127.0.0.1:${port}` })).status).toBe(101);
    expect((await upgradeResponse(port, { Origin: `http://localhost:${port}` })).status).toBe(101);
    expect((await upgradeResponse(port, { Origin: 'http://evil.example.com' })).status).toBe(403);
    // The Host header is the attacker's to choose (DNS rebinding): never compared with.
    expect((await upgradeResponse(port, { Origin: 'http://evil.example.com', Host: 'evil.example.com' })).status).toBe(403);
    expect((await upgradeResponse(port, { Origin: `http://127.0.0.1:${port + 1}` })).status).toBe(403);
  });

  it('accepts the origins given with wsAllowedOrigins', async () => {
    const srv = await startServer({ wsAllowedOrigins: ['https://app.example'] });
    const port = wsPort(srv.ws.url);
    expect((await upgradeResponse(port, { Origin: 'https://app.example' })).status).toBe(101);
    expect((await upgradeResponse(port, { Origin: 'https://other.example' })).status).toBe(403);
  });

  it('negotiates no subprotocol, as PROTOCOL.md §1.3 says, even when one is offered', async () => {
    const srv = await startServer();
    const answer = await upgradeResponse(wsPort(srv.ws.url), { 'Sec-WebSocket-Protocol': 'syncmgr, chat' });
    expect(answer.status).toBe(101);
    expect(answer.headers['sec-websocket-protocol']).toBeUndefined();
  });

  it('is asked for no subprotocol by our client', async () => {
    const http = createHttpServer();
    const seen = new Promise<IncomingHttpHeaders>((resolve) => http.on('upgrade', (request, socket) => {
      socket.destroy();
      resolve(request.headers);
    }));
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => http.close(() => resolve())));
    const { port } = http.address() as { port: number };
    await expect(connect({ url: `ws://127.0.0.1:${port}/`, authkey: AUTHKEY, connectTimeout: 2 })).rejects.toThrow();
    const headers = await seen;
    expect(headers.upgrade).toBe('websocket');
    expect(headers['sec-websocket-protocol']).toBeUndefined();
  });
});

describe('memory before authentication', () => {
  it('closes WebSocket connections announcing huge frames before the handshake, holding nothing of them', { timeout: 20_000 }, async () => {
    const srv = await startServer();
    const sockets = await Promise.all(Array.from({ length: 60 }, () => rawWebSocket(wsPort(srv.ws.url))));
    const before = process.memoryUsage().arrayBuffers;
    const chunk = Buffer.alloc(1024 * 1024, 0x61);
    // 'end': the server's FIN (the upgraded socket of an http client allows half-open).
    const closed = sockets.map((socket) => new Promise<void>((resolve) => socket.once('end', () => resolve()).once('close', () => resolve())));
    for (const socket of sockets) {
      socket.write(binaryFrameHeader(16 * 1024 * 1024));
      socket.write(chunk);
    }
    await sleep(500);
    // Generous: the 60 MiB sent must not be held (the chunk itself is shared by every write).
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(24 * 1024 * 1024);
    await Promise.race([Promise.all(closed), sleep(5000).then(() => Promise.reject(new Error('connections still open after 5 s')))]);
    await until(() => srv.server.connectionCount === 0);
  });

  it('keeps the small WebSocket limit for a client that sends its three handshake frames unverified, then a huge header', async () => {
    const srv = await startServer();
    const socket = await rawWebSocket(wsPort(srv.ws.url));
    const closed = new Promise<void>((resolve) => socket.once('end', () => resolve()).once('close', () => resolve()));
    const small = (payload: Buffer) => Buffer.concat([Buffer.from([0x82, 0x80 | payload.length, 0, 0, 0, 0]), payload]);
    const frame = Buffer.from('0000000178', 'hex'); // our frame: length 1, "x"
    socket.write(Buffer.concat([small(frame), small(frame), small(frame), binaryFrameHeader(16 * 1024 * 1024), Buffer.alloc(60_000)]));
    // Closed at the header, not left holding what came with it until the handshake deadline.
    await Promise.race([closed, sleep(3000).then(() => Promise.reject(new Error('still open after 3 s')))]);
  });

  for (const transport of ['tcp', 'unix'] as const) {
    it(`closes ${transport} connections announcing huge frames before the handshake, holding nothing of them`, { timeout: 20_000 }, async () => {
      const srv = await startServer();
      const raws = await Promise.all(Array.from({ length: 60 }, () => RawClient.connect(srv[transport], { authkey: false })));
      const before = process.memoryUsage().arrayBuffers;
      const chunk = Buffer.alloc(1024 * 1024, 0x61);
      for (const raw of raws) {
        raw.sendBytes(Buffer.from('01000000', 'hex'));
        raw.sendBytes(chunk);
      }
      await Promise.all(raws.map((raw) => raw.waitClosed(5000)));
      expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(24 * 1024 * 1024);
      await until(() => srv.server.connectionCount === 0);
    });
  }

  it('still takes frames up to maxFrameBytes over WebSocket once authenticated', async () => {
    const srv = await startServer();
    const client = await connectTo(srv.ws, { heartbeats: false });
    const big = 'x'.repeat(2 * 1024 * 1024);
    await client.dict('d').set('big', big);
    expect(await client.dict('d').get('big')).toBe(big);
    await client.close();
  });
});
