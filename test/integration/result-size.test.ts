/**
 * A result larger than the server's frame limit is refused with RESULT_TOO_LARGE (docs/PROTOCOL.md
 * §6.2, §8) before it is built, whatever the operation; nothing else happens and the connection
 * stays usable. The reference client raises it as a ResultTooLargeError.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { ResultTooLargeError } from '../../src/errors.js';
import { RawClient } from '../helpers/raw-client.js';
import { connectTo, startServer, type TestServer } from '../helpers/server.js';

const MAX_FRAME = 1024 * 1024;
/** A value of 100 KiB: a dozen of them pass the 1 MiB limit. */
const VALUE = 'v'.repeat(100 * 1024);

let server: TestServer;
let raw: RawClient;

beforeAll(async () => {
  server = await startServer({ maxFrameBytes: MAX_FRAME });
  raw = await RawClient.connect(server.tcp);
  await raw.hello();
  for (let i = 0; i < 12; i++) await raw.request({ id: `set-${i}`, op: 'set', type: 'dict', name: 'd', args: [`k${i}`, VALUE] });
  for (const half of [1, 2]) await raw.request({ id: `extend-${half}`, op: 'extend', type: 'list', name: 'l', args: [Array.from({ length: 6 }, () => VALUE)] });
});

/** Sends `request`; expects RESULT_TOO_LARGE for it, then a ping answered on the same connection. */
async function expectRefused(request: Record<string, unknown>): Promise<void> {
  const answer = await raw.request({ id: 'big', ...request });
  expect(answer).toEqual({
    id: 'big',
    error: { code: 'RESULT_TOO_LARGE', message: expect.stringContaining(`${MAX_FRAME} bytes`), details: { maxBytes: MAX_FRAME } },
  });
  expect(await raw.request({ id: 'after', op: 'ping' })).toEqual({ id: 'after', result: 'pong' });
}

describe('results over the frame limit', () => {
  it('a value that fitted in the request that stored it is always given back whole, whatever the id', async () => {
    // The put's envelope is shorter than a get's with a 64-character id: the answer's frame is
    // longer than the frame that brought the value, and refusing it would lose the value taken.
    const put = { id: 1, op: 'put', type: 'queue', name: 'q', args: [''] };
    const value = 'x'.repeat(MAX_FRAME - Buffer.byteLength(JSON.stringify(put)));
    expect(await raw.request({ ...put, args: [value] })).toEqual({ id: 1, result: null });
    const id = 'i'.repeat(64);
    for (const take of [{ op: 'getNowait', type: 'queue', name: 'q' }, { op: 'pop', type: 'dict', name: 'qd', args: ['k'] }]) {
      if (take.type === 'dict') await raw.request({ id: 2, op: 'set', type: 'dict', name: 'qd', args: ['k', value.slice(0, -20)] });
      const answer = await raw.request({ id, ...take });
      expect(answer.error).toBeUndefined();
      expect(typeof answer.result === 'string' && answer.result.length).toBeGreaterThan(MAX_FRAME - 100);
    }
  });

  it('getMany of one key repeated 200 times', async () => {
    await expectRefused({ op: 'getMany', type: 'dict', name: 'd', args: [Array.from({ length: 200 }, () => 'k0')] });
  });

  it('items, keys... of a dict, a list slice, and snapshot', async () => {
    await expectRefused({ op: 'items', type: 'dict', name: 'd' });
    await expectRefused({ op: 'values', type: 'dict', name: 'd' });
    await expectRefused({ op: 'slice', type: 'list', name: 'l' });
    await expectRefused({ op: 'snapshot' });
  });

  it('a result of escaped text is measured as sent: control characters take 6 bytes each', async () => {
    // 200 KiB of characters stored, 1.2 MiB of JSON text.
    for (const key of ['a', 'b']) await raw.request({ id: `ctl-${key}`, op: 'set', type: 'dict', name: 'ctl', args: [key, '\u0001'.repeat(100 * 1024)] });
    await expectRefused({ op: 'getMany', type: 'dict', name: 'ctl', args: [['a', 'b']] });
    await expectRefused({ op: 'items', type: 'dict', name: 'ctl' });
  });

  it('an atomic batch whose results pass the limit is refused and changes nothing', async () => {
    const pops = Array.from({ length: 12 }, (_, i) => ({ op: 'pop', type: 'dict', name: 'd', args: [`k${i}`] }));
    await expectRefused({ op: 'atomic', args: [[...pops, { op: 'set', type: 'dict', name: 'd', args: ['marker', true] }]] });
    expect((await raw.request({ id: 'size', op: 'size', type: 'dict', name: 'd' })).result).toBe(12);
  });

  it('results up to the limit are answered', async () => {
    const keys = Array.from({ length: 9 }, (_, i) => `k${i}`);
    const answer = await raw.request({ id: 'fits', op: 'getMany', type: 'dict', name: 'd', args: [keys] });
    expect(answer.result).toEqual(keys.map(() => VALUE));
  });

  it('the client raises ResultTooLargeError and the connection carries on', async () => {
    const client = await connectTo(server.tcp);
    const refused = await client.dict('d').getMany(Array.from({ length: 200 }, () => 'k1')).catch((err: unknown) => err);
    expect(refused).toBeInstanceOf(ResultTooLargeError);
    expect(refused).toMatchObject({ code: 'RESULT_TOO_LARGE', maxBytes: MAX_FRAME });
    expect(await client.dict('d').get('k1')).toBe(VALUE);
  });
});
