/**
 * Review finding: docs/PROTOCOL.md §4.1 and §8 promise that the server stops reading a connection
 * whose client does not read once more than 8 MiB of answers wait to be sent. That must hold on
 * WebSocket connections as on TCP, or a client can make the server buffer without bound.
 */
import { describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { connectTo, startServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('backpressure over WebSocket', () => {
  it('stops reading from a client that does not read its answers', async () => {
    const { tcp, ws } = await startServer({ socket: undefined });
    const other = await connectTo(tcp);
    await other.dict('big').set('v', 'x'.repeat(1024 * 1024));
    const raw = await RawClient.connect(ws);
    await raw.hello();
    // Stop reading on the client side, then ask for ~64 MiB of answers and set a marker after.
    const socket = (raw as unknown as { ws: { pause(): void; resume(): void } }).ws;
    socket.pause();
    for (let i = 0; i < 64; i++) raw.sendJson({ id: i, op: 'get', type: 'dict', name: 'big', args: ['v'] });
    raw.sendJson({ id: 'marker', op: 'set', type: 'dict', name: 'big', args: ['marker', true] });
    await sleep(1000);
    // The server stopped reading before the marker: answers held are bounded.
    expect(await other.dict('big').has('marker')).toBe(false);
    socket.resume();
    await expect.poll(() => other.dict('big').has('marker'), { timeout: 10_000 }).toBe(true);
  });
});
