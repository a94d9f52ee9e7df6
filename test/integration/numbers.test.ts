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

/** Sends `text` as is (numbers JSON.stringify cannot write) and returns the answer. */
async function requestText(text: string): Promise<any> {
  raw.send(text);
  return raw.nextJson();
}

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

describe('non-finite numbers', () => {
  const HUGE_DIGITS = '1' + '0'.repeat(400);
  const CASES: Array<[string, string]> = [
    ['1e400 as a value (fast-path shape)', '{"id":"x1","op":"set","type":"dict","name":"n-inf","args":["k",1e400]}'],
    ['-1e400 with spaces', '{"id": "x2", "op": "set", "type": "dict", "name": "n-inf", "args": ["k", -1e400]}'],
    ['400 digits', `{"id":"x3","op":"set","type":"dict","name":"n-inf","args":["k",${HUGE_DIGITS}]}`],
    ['1E+999 nested in an object', '{"id":"x4","op":"set","type":"dict","name":"n-inf","args":["k",{"a":[1,{"b":1E+999}]}]}'],
    ['1e400 as an incr step', '{"id":"x5","op":"incr","type":"dict","name":"n-inf","args":["k",1e400]}'],
    ['1e400 in a list append', '{"id":"x6","op":"append","type":"list","name":"n-inf-list","args":[1e400]}'],
    ['1e400 in an atomic batch', '{"id":"x7","op":"atomic","args":[[{"op":"set","type":"dict","name":"n-inf","args":["k",[1e400]]}]]}'],
    ['1e400 in init', '{"id":"x8","op":"put","type":"queue","name":"n-inf-q","args":[1],"init":{"maxsize":1e400}}'],
  ];
  for (const [name, text] of CASES) {
    it(`refuses ${name} with INVALID_ARGUMENT, echoing the id, storing nothing`, async () => {
      const id = JSON.parse(text.replace(/-?1e400|1E\+999|1{1}0{400}/g, '0')).id;
      expect(await requestText(text)).toMatchObject({ id, error: { code: 'INVALID_ARGUMENT' } });
      expect((await call('dict', 'n-inf', 'has', ['k'])).result).toBe(false);
    });
  }

  it('still reads large finite numbers and exponents', async () => {
    expect(await requestText('{"id":"f1","op":"set","type":"dict","name":"n-fin","args":["k",[1e308,-2.5E-300,1e2]]}')).toEqual({ id: 'f1', result: null });
    expect((await call('dict', 'n-fin', 'get', ['k'])).result).toEqual([1e308, -2.5e-300, 100]);
    expect(await requestText('{"id":"f2","op":"set","type":"dict","name":"n-fin","args":["s","1e400 true false"]}')).toEqual({ id: 'f2', result: null });
  });
});
