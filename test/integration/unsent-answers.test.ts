/**
 * A connection whose answers wait unread past the bound (docs/PROTOCOL.md §4.1, §8) is not read
 * from until they drain, and the bound is checked after every answer: a few requests for large
 * answers in one write, fewer than the frames a socket write gathers, must not all be served.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../src/protocol/frame.js';
import { RawClient } from '../helpers/raw-client.js';
import { connectTo, startServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe.each(['tcp', 'unix', 'ws'] as const)('unread answers over %s', (transport) => {
  it('stop the reading of that connection after the answer that passes the bound, and it resumes once they are read', { timeout: 20_000 }, async () => {
    const server = await startServer({ maxFrameBytes: 4 * 1024 * 1024 });
    const other = await connectTo(server.tcp);
    await other.dict('big').set('v', 'x'.repeat(3 * 1024 * 1024));
    const raw = await RawClient.connect(server[transport]);
    await raw.hello();
    const reader = raw as unknown as { socket?: { pause(): void; resume(): void }; ws?: { pause(): void; resume(): void } };
    const socket = (reader.socket ?? reader.ws)!;
    socket.pause();
    // 8 answers of 3 MiB (24 MiB) then a marker, in one write (over TCP and Unix sockets).
    const requests = Array.from({ length: 8 }, (_, i) => ({ id: i, op: 'get', type: 'dict', name: 'big', args: ['v'] }));
    requests.push({ id: 8, op: 'set', type: 'dict', name: 'big', args: ['marker', true] } as never);
    if (transport === 'ws') for (const request of requests) raw.sendJson(request);
    else raw.sendBytes(Buffer.concat(requests.map((request) => encodeFrame(JSON.stringify(request)))));
    await sleep(1000);
    expect(await other.dict('big').has('marker')).toBe(false);
    socket.resume();
    await expect.poll(() => other.dict('big').has('marker'), { timeout: 10_000 }).toBe(true);
  });
});
