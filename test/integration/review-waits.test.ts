/**
 * Review findings about blocked requests on a real server: long timeouts, and waits a session
 * must give back when it ends even if its client broke the id rules.
 */
import { describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { connectTo, startServer } from '../helpers/server.js';

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

describe('server-side timeouts', () => {
  it('keeps waiting when the timeout is longer than a timer can hold (~24.8 days)', async () => {
    const { tcp } = await startServer({ wsPort: undefined, socket: undefined });
    const a = await connectTo(tcp);
    const b = await connectTo(tcp);
    const held = await a.lock('long-timeout').acquire();
    // 30 days: setTimeout clamps delays over 2^31-1 ms to 1 ms, which would answer TIMEOUT at once.
    let outcome: unknown = 'pending';
    b.lock('long-timeout').acquire({ timeout: 30 * 24 * 3600 }).then(
      (handle) => (outcome = handle),
      (err: { code: string }) => (outcome = err.code),
    );
    await sleep(200);
    expect(outcome).toBe('pending');
    await held.release();
    await sleep(100);
    expect(typeof outcome).toBe('object');
  });

  it('keeps a client call with a very long timeout pending', async () => {
    const { tcp } = await startServer({ wsPort: undefined, socket: undefined });
    const a = await connectTo(tcp);
    const b = await connectTo(tcp);
    // A non-blocking-on-the-server call with a client timeout of 30 days must not time out at once.
    const held = await a.lock('client-timeout').acquire();
    let outcome: unknown = 'pending';
    b.call('lock', 'client-timeout', 'acquire', [null], { timeout: 30 * 24 * 3600 }).then(
      (value) => (outcome = value),
      (err: { code: string }) => (outcome = err.code),
    );
    await sleep(200);
    expect(outcome).toBe('pending');
    await held.release();
    await sleep(100);
    expect(typeof outcome).toBe('object');
  });
});

describe('a session that ends', () => {
  it('gives back every barrier place, even of two waits sent under one id', async () => {
    const { tcp } = await startServer({ wsPort: undefined, socket: undefined });
    const raw = await RawClient.connect(tcp);
    await raw.hello();
    // Against the rules (an id reused while outstanding), but the server must not keep a place of
    // a dead session in a barrier other clients meet at.
    raw.sendJson({ id: 7, op: 'wait', type: 'barrier', name: 'meet', args: [], init: { parties: 3 } });
    raw.sendJson({ id: 7, op: 'wait', type: 'barrier', name: 'meet', args: [], init: { parties: 3 } });
    const c = await connectTo(tcp);
    await expect.poll(() => c.barrier('meet').state().then((s) => s.waiting)).toBe(2);
    raw.destroy();
    await expect.poll(() => c.barrier('meet').state().then((s) => s.waiting)).toBe(0);
  });
});
