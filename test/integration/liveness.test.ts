/**
 * Session liveness counts bytes, not frames (docs/PROTOCOL.md §4.4): a client slowly uploading one
 * large request, or slowly reading answers while the server has stopped reading it (backpressure),
 * is alive and keeps what it holds; and a silent session is never cut before the full timeout.
 */
import type { Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { encodeHeader } from '../../src/protocol/frame.js';
import { RawClient } from '../helpers/raw-client.js';
import { connectTo, startServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** A raw TCP session, greeted, holding lock `lock`; resolves with it and its grant. */
async function holderOf(endpoint: Parameters<typeof RawClient.connect>[0], lock: string) {
  const raw = await RawClient.connect(endpoint);
  await raw.hello();
  const grant = await raw.request({ id: 'acquire', op: 'acquire', type: 'lock', name: lock });
  expect(grant.result).toMatchObject({ fence: 1 });
  return { raw, grant: grant.result as { token: string; fence: number } };
}

describe('session liveness', () => {
  const TIMEOUT_MS = 800;

  it('a client uploading one request slowly (3 timeouts long) keeps its session and its lock', { timeout: 30_000 }, async () => {
    const { tcp } = await startServer({ sessionTimeoutMs: TIMEOUT_MS });
    const observer = await connectTo(tcp);
    const { raw, grant } = await holderOf(tcp, 'upload-lock');
    const payload = Buffer.from(JSON.stringify({ id: 'big', op: 'set', type: 'dict', name: 'up', args: ['k', 'x'.repeat(240_000)] }));
    // 8 KiB every 100 ms: about 3 s for the frame, and never a whole frame within a timeout.
    raw.sendBytes(encodeHeader(payload.length));
    for (let offset = 0; offset < payload.length; offset += 8192) {
      raw.sendBytes(payload.subarray(offset, offset + 8192));
      await sleep(100);
    }
    expect(await raw.nextJson(5000)).toEqual({ id: 'big', result: null });
    expect(await observer.lock('upload-lock').state()).toEqual({ locked: true, fence: grant.fence, waiting: 0 });
    expect(raw.isClosed).toBe(false);
  });

  it('a client reading many answers slowly while the server does not read it (backpressure) keeps its session and its lock', { timeout: 30_000 }, async () => {
    // Longer than the others: this client's own loop must not stall a whole timeout on a busy machine.
    const { tcp } = await startServer({ sessionTimeoutMs: 2 * TIMEOUT_MS });
    const observer = await connectTo(tcp);
    await observer.dict('down').set('v', 'y'.repeat(1024 * 1024));
    const { raw, grant } = await holderOf(tcp, 'download-lock');
    const socket = (raw as unknown as { socket: Socket }).socket;
    socket.pause();
    // 32 MiB of answers: far more than the server keeps unsent before it stops reading, and
    // more than loopback buffers hold, read at most 64 KiB per 10 ms while pinging every 200 ms (the
    // pings wait unread at the server while it has stopped reading).
    const ANSWERS = 32;
    for (let i = 0; i < ANSWERS; i++) raw.sendJson({ id: i, op: 'get', type: 'dict', name: 'down', args: ['v'] });
    let pings = 0;
    const pinger = setInterval(() => raw.sendJson({ id: `ping-${++pings}`, op: 'ping' }), 200);
    const received = new Set<unknown>();
    try {
      const deadline = Date.now() + 20_000;
      while (received.size < ANSWERS && Date.now() < deadline && !raw.isClosed) {
        socket.read();
        await sleep(10);
        for (;;) {
          const frame = await raw.nextFrame(1).catch(() => undefined);
          if (frame === undefined) break;
          const message = JSON.parse(frame.toString('utf8'));
          if (typeof message.id === 'number') received.add(message.id);
        }
      }
    } finally {
      clearInterval(pinger);
      socket.resume();
    }
    expect(received.size).toBe(ANSWERS);
    expect(await observer.lock('download-lock').state()).toEqual({ locked: true, fence: grant.fence, waiting: 0 });
    expect(raw.isClosed).toBe(false);
  });

  it('a client that stops reading with answers pending, and sends nothing, still loses its lock after the timeout', { timeout: 30_000 }, async () => {
    const { tcp } = await startServer({ sessionTimeoutMs: TIMEOUT_MS });
    const observer = await connectTo(tcp);
    await observer.dict('stuck').set('v', 'z'.repeat(1024 * 1024));
    const { raw, grant } = await holderOf(tcp, 'stuck-lock');
    (raw as unknown as { socket: Socket }).socket.pause();
    // More answers than the kernel buffers between us hold: some stay unsent at the server, and
    // once those buffers are full nothing moves.
    for (let i = 0; i < 48; i++) raw.sendJson({ id: i, op: 'get', type: 'dict', name: 'stuck', args: ['v'] });
    const sentAt = Date.now();
    const held = await observer.lock('stuck-lock').acquire({ timeout: 15 });
    expect(Date.now() - sentAt).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(held.fence).toBe(grant.fence + 1);
    await held.release();
  });

  it(`a silent session is not cut before the full timeout, even one that is no multiple of the sweep interval`, { timeout: 30_000 }, async () => {
    // The sweeper runs every second for this timeout: a clock refreshed only by it would cut
    // up to ~1 s early.
    const LONG_TIMEOUT_MS = 4_990;
    const { tcp } = await startServer({ sessionTimeoutMs: LONG_TIMEOUT_MS });
    const observer = await connectTo(tcp);
    const { raw } = await holderOf(tcp, 'silent-lock');
    // A last frame at an arbitrary moment between two sweeps, then silence.
    await sleep(50 + Math.random() * 900);
    const lastSentAt = Date.now();
    expect(await raw.request({ id: 'last', op: 'ping' })).toEqual({ id: 'last', result: 'pong' });
    const held = await observer.lock('silent-lock').acquire({ timeout: 15 });
    expect(Date.now() - lastSentAt).toBeGreaterThanOrEqual(LONG_TIMEOUT_MS);
    expect(held.fence).toBe(2);
    await held.release();
  });
});
