/**
 * Numbers through a real server: integer counters never lose precision silently, and a value means
 * the same after a restart as before, so no non-finite number is ever stored.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { RawClient } from '../helpers/raw-client.js';
import { startServer, type TestServer } from '../helpers/server.js';

const MAX_SAFE = Number.MAX_SAFE_INTEGER; // 2^53 - 1

let srv: TestServer;
let raw: RawClient;
let nextId = 1;

beforeAll(async () => {
  srv = await startServer();
  raw = await RawClient.connect(srv.tcp);
  await raw.hello();
});

async function call(type: string, name: string, op: string, args: unknown[], init?: object): Promise<any> {
  return raw.request({ id: nextId++, op, type, name, args, ...(init !== undefined && { init }) });
}

describe('integer counters past 2^53', () => {
  it('refuses an incr whose integer result is not a safe integer, leaving the value', async () => {
    await call('dict', 'n-incr', 'set', ['c', MAX_SAFE]);
    expect(await call('dict', 'n-incr', 'incr', ['c'])).toMatchObject({ error: { code: 'OUT_OF_RANGE', details: { key: 'c' } } });
    expect(await call('dict', 'n-incr', 'incr', ['c', 2])).toMatchObject({ error: { code: 'OUT_OF_RANGE' } });
    expect((await call('dict', 'n-incr', 'get', ['c'])).result).toBe(MAX_SAFE);
    expect((await call('dict', 'n-incr', 'incr', ['c', -1])).result).toBe(MAX_SAFE - 1);
  });

  it('refuses an integer by that takes a missing key past 2^53, creating nothing', async () => {
    expect(await call('dict', 'n-by', 'incr', ['c', MAX_SAFE + 1])).toMatchObject({ error: { code: 'OUT_OF_RANGE' } });
    expect((await call('dict', 'n-by', 'has', ['c'])).result).toBe(false);
    expect(await call('dict', 'n-by', 'incr', ['d', -MAX_SAFE - 1])).toMatchObject({ error: { code: 'OUT_OF_RANGE' } });
  });

  it('keeps floating-point arithmetic for fractions', async () => {
    await call('dict', 'n-float', 'set', ['c', 0.5]);
    expect((await call('dict', 'n-float', 'incr', ['c', MAX_SAFE])).result).toBe(0.5 + MAX_SAFE);
  });

  it('refuses an anonymous semaphore release past 2^53 - 1 permits, leaving the value', async () => {
    expect((await call('semaphore', 'n-sem', 'value', [], { value: MAX_SAFE })).result).toBe(MAX_SAFE);
    expect(await call('semaphore', 'n-sem', 'release', [])).toMatchObject({ error: { code: 'OUT_OF_RANGE' } });
    expect((await call('semaphore', 'n-sem', 'value', [])).result).toBe(MAX_SAFE);
  });
});
