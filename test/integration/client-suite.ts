/**
 * The client against a real server, one suite for every transport (like MQTT.js's abstract_client
 * and CPython's ALLOWED_TYPES): client-tcp.test.ts, client-unix.test.ts and client-ws.test.ts each
 * run it.
 */
import { beforeAll, describe, expect, expectTypeOf, it } from 'vitest';
import { type Client, connect } from '../../src/client/client.js';
import type { DictProxy } from '../../src/client/proxies/dict.js';
import { AbortError, ConnectionClosedError, FrameTooLargeError, RemoteError, SyncmgrError, TimeoutError } from '../../src/errors.js';
import { PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import type { EventMessage } from '../../src/protocol/message.js';
import { type Endpoint, formatEndpoint } from '../../src/transport/address.js';
import { AUTHKEY, connectTo, startServer, type TestServer } from '../helpers/server.js';
import { startSilentServer, type SilentServer } from '../helpers/silent-server.js';

export type Transport = 'tcp' | 'unix' | 'ws';

/** What a promise rejects with; fails the test if it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<SyncmgrError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(SyncmgrError);
    return err as SyncmgrError;
  }
  throw new Error('expected the promise to reject');
}

const codeOf = async (promise: Promise<unknown>): Promise<string> => (await rejectionOf(promise)).code;

/** Connect options that reach `endpoint` (what connectTo does, for clients a test closes itself). */
function targetOf(endpoint: Endpoint) {
  return endpoint.transport === 'tcp'
    ? { host: endpoint.host, port: endpoint.port }
    : endpoint.transport === 'unix'
      ? { path: endpoint.path }
      : { url: endpoint.url };
}

interface Item {
  n: number;
  tags: string[];
}

export function clientSuite(transport: Transport): void {
  describe(`Client over ${transport}`, () => {
    let server: TestServer;
    let client: Client;
    let silent: SilentServer;
    let names = 0;
    /** A fresh dict name per test, so tests share the server but not their data. */
    const fresh = (prefix = 'd'): string => `${prefix}-${transport}-${++names}`;

    beforeAll(async () => {
      server = await startServer();
      client = await connectTo(server[transport]);
      silent = await startSilentServer(transport);
    });

    describe('hello', () => {
      it('reports the protocol, the server instance and its own session', async () => {
        expect(client.status).toBe('ready');
        expect(client.address).toBe(formatEndpoint(server[transport]));
        expect(client.server).toMatchObject({
          protocol: PROTOCOL_VERSION,
          instance: server.server.instanceId,
          server: expect.stringMatching(/^syncmgr\//),
        });
        expect(Number.isSafeInteger(client.server.session) && client.server.session > 0).toBe(true);
        expect(client.server.maxFrameBytes).toBe(server.server.maxFrameBytes);
        expect(client.server.sessionTimeoutMs).toBe(server.server.sessionTimeoutMs);

        const other = await connectTo(server[transport]);
        expect(other.server.instance).toBe(client.server.instance);
        expect(other.server.session).not.toBe(client.server.session);
      });

      it('answers ping', async () => {
        await expect(client.ping()).resolves.toBeUndefined();
      });
    });

    describe('DictProxy', () => {
      it('sets, gets, tests and deletes typed values', async () => {
        const d = client.dict<Item>(fresh());
        await expect(d.set('a', { n: 1, tags: ['x'] })).resolves.toBeNull();
        const got = await d.get('a');
        expectTypeOf(got).toEqualTypeOf<Item | null>();
        expect(got).toEqual({ n: 1, tags: ['x'] });
        expect(await d.has('a')).toBe(true);
        expect(await d.has('b')).toBe(false);
        expect(await d.delete('a')).toBe(true);
        expect(await d.delete('a')).toBe(false);
        expect(await d.get('a')).toBeNull();
      });

      it('returns the default for a missing key, and a stored null over the default', async () => {
        const d = client.dict<number>(fresh());
        const fallback = await d.get('missing', 'none');
        expectTypeOf(fallback).toEqualTypeOf<number | string>();
        expect(fallback).toBe('none');
        await client.dict(d.name).set('nullish', null);
        expect(await d.get('nullish', 'none')).toBeNull();
      });

      it('stores every kind of JSON value unchanged', async () => {
        const d = client.dict(fresh());
        const values: unknown[] = [0, -1.5, 1e300, '', 'text é ✓ \u0000', true, false, null, [], {}, [1, [2, [3]]], { a: { b: [null, { c: 'd' }] } }];
        for (const [i, value] of values.entries()) await d.set(`k${i}`, value);
        expect(await d.values()).toEqual(values);
      });

      it('update sets every entry from an object, a Map or pairs', async () => {
        const d = client.dict<number>(fresh());
        await d.update({ a: 1, b: 2 });
        await d.update(new Map([['c', 3]]));
        await d.update([['d', 4], ['a', 10]] as const);
        expect(await d.items()).toEqual([['a', 10], ['b', 2], ['c', 3], ['d', 4]]);
      });

      it('update applies nothing when one entry is invalid (INVALID_ARGUMENT)', async () => {
        const name = fresh();
        const d = client.dict<number>(name);
        await d.set('a', 0);
        const error = await rejectionOf(client.call('dict', name, 'update', [[['a', 1], ['b', 2], [3, 3]]]));
        expect(error).toBeInstanceOf(RemoteError);
        expect(error.code).toBe('INVALID_ARGUMENT');
        expect(await d.items()).toEqual([['a', 0]]);
      });

      it('incr adds 1 or N, counts a missing key as 0 and resolves with the new value', async () => {
        const d = client.dict<number>(fresh());
        const first = await d.incr('hits');
        expectTypeOf(first).toEqualTypeOf<number>();
        expect(first).toBe(1);
        expect(await d.incr('hits', 41)).toBe(42);
        expect(await d.incr('hits', -2.5)).toBe(39.5);
        expect(await d.get('hits')).toBe(39.5);
      });

      it('incr fails with WRONG_TYPE on a non-number and leaves it unchanged', async () => {
        const d = client.dict(fresh());
        await d.set('word', 'hello');
        expect(await codeOf(d.incr('word'))).toBe('WRONG_TYPE');
        expect(await d.get('word')).toBe('hello');
      });

      it('incr fails with OUT_OF_RANGE when the result would not be finite', async () => {
        const d = client.dict<number>(fresh());
        await d.set('big', Number.MAX_VALUE);
        expect(await codeOf(d.incr('big', Number.MAX_VALUE))).toBe('OUT_OF_RANGE');
        expect(await d.get('big')).toBe(Number.MAX_VALUE);
      });

      it('lists keys, values and items in insertion order, and counts and clears them', async () => {
        const d = client.dict<string>(fresh());
        await d.update({ b: 'B', a: 'A' });
        const keys = await d.keys();
        const values = await d.values();
        const items = await d.items();
        expectTypeOf(keys).toEqualTypeOf<string[]>();
        expectTypeOf(values).toEqualTypeOf<string[]>();
        expectTypeOf(items).toEqualTypeOf<Array<[string, string]>>();
        expect([keys, values, items]).toEqual([['b', 'a'], ['B', 'A'], [['b', 'B'], ['a', 'A']]]);
        expect(await d.size()).toBe(2);
        await expect(d.clear()).resolves.toBeNull();
        expect(await d.size()).toBe(0);
        expect(await d.keys()).toEqual([]);
      });

      it('pop removes and returns a value, or the default, or fails with KEY_NOT_FOUND', async () => {
        const d = client.dict<number>(fresh());
        await d.set('k', 7);
        const popped = await d.pop('k');
        expectTypeOf(popped).toEqualTypeOf<number>();
        expect(popped).toBe(7);
        expect(await d.has('k')).toBe(false);
        expect(await d.pop('k', 'gone')).toBe('gone');
        expect(await codeOf(d.pop('k'))).toBe('KEY_NOT_FOUND');
      });

      it('setdefault sets a missing key and keeps an existing one', async () => {
        const d = client.dict<string>(fresh());
        expect(await d.setdefault('k', 'first')).toBe('first');
        expect(await d.setdefault('k', 'second')).toBe('first');
        expect(await d.get('k')).toBe('first');
      });

      it('compareAndSet compares deeply, in any key order, with a missing key equal to null', async () => {
        const d = client.dict<Record<string, unknown> | string>(fresh());
        expect(await d.compareAndSet('leader', null, 'me')).toBe(true);
        expect(await d.compareAndSet('leader', null, 'you')).toBe(false);
        expect(await d.get('leader')).toBe('me');
        await d.set('cfg', { a: 1, b: { c: [1, 2] } });
        expect(await d.compareAndSet('cfg', { b: { c: [2, 1] }, a: 1 }, 'no')).toBe(false);
        expect(await d.compareAndSet('cfg', { b: { c: [1, 2] }, a: 1 }, 'yes')).toBe(true);
        expect(await d.get('cfg')).toBe('yes');
      });

      it('getMany and setMany read and write several keys in one request', async () => {
        const d = client.dict<number>(fresh());
        await d.setMany({ a: 1, b: 2 });
        await d.setMany([['c', 3]]);
        const many = await d.getMany(['c', 'missing', 'a']);
        expectTypeOf(many).toEqualTypeOf<Array<number | null>>();
        expect(many).toEqual([3, null, 1]);
        expect(await d.getMany(['missing', 'b'], -1)).toEqual([-1, 2]);
      });

      it('keeps __proto__ and constructor ordinary keys end to end', async () => {
        const d = client.dict<unknown>(fresh());
        await d.update(new Map<string, unknown>([['__proto__', { polluted: true }], ['constructor', 1]]));
        await d.set('toString', 'x');
        expect(await d.keys()).toEqual(['__proto__', 'constructor', 'toString']);
        expect(await d.get('__proto__')).toEqual({ polluted: true });
        expect(await d.getMany(['constructor', 'toString'])).toEqual([1, 'x']);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      });

      it('fails with UNKNOWN_METHOD for an operation a dict does not have', async () => {
        const name = fresh();
        for (const op of ['nosuch', 'toString', '__proto__']) {
          expect(await codeOf(client.call('dict', name, op, []))).toBe('UNKNOWN_METHOD');
        }
      });

      it('fails with WRONG_TYPE when the name belongs to another type', async () => {
        const name = fresh();
        await client.list(name).append(1);
        expect(await codeOf(client.dict(name).get('k'))).toBe('WRONG_TYPE');
      });

      it('types a dict of numbers', () => {
        // Compile-time only: `npx tsc -p tsconfig.json --noEmit` checks these.
        const counters = client.dict<number>('typing-only');
        expectTypeOf(counters).toEqualTypeOf<DictProxy<number>>();
        expectTypeOf(counters.incr).returns.toEqualTypeOf<Promise<number>>();
        expectTypeOf(counters.get).parameter(0).toEqualTypeOf<string>();
        expectTypeOf(counters.set).parameter(1).toEqualTypeOf<number>();
        expectTypeOf(counters.setdefault).returns.toEqualTypeOf<Promise<number>>();
        // @ts-expect-error a dict<number> takes numbers
        void (() => counters.set('k', 'not a number'));
        // @ts-expect-error update entries must be numbers too
        void (() => counters.update({ k: 'x' }));
      });
    });

    describe('pipelining', () => {
      it('resolves 256 calls sent without waiting, in order, each with its own result', async () => {
        const d = client.dict<number>(fresh());
        const count = 256;
        const calls: Array<Promise<unknown>> = [];
        for (let i = 0; i < count; i++) {
          calls.push(i % 2 === 0 ? d.incr('n') : d.get('n'));
        }
        // Every call is on the wire before the first answer can have been read.
        expect(client.inFlight).toBeGreaterThanOrEqual(count);
        const order: number[] = [];
        calls.forEach((call, i) => void call.then(() => order.push(i)));
        const results = await Promise.all(calls);
        // incr #k (k = 1, 2, ...) resolves with k, and the get right behind it reads the same k.
        expect(results).toEqual(Array.from({ length: count }, (_, i) => Math.floor(i / 2) + 1));
        expect(order).toEqual(Array.from({ length: count }, (_, i) => i));
        expect(client.inFlight).toBe(0);
      });

      it('settles an error in the middle of a pipeline without disturbing the calls around it', async () => {
        const d = client.dict(fresh());
        await d.set('word', 'w');
        const calls = Array.from({ length: 65 }, (_, i) => (i === 32 ? d.incr('word') : d.incr(`n${i % 4}`)));
        const settled = await Promise.allSettled(calls);
        const failed = settled.flatMap((s, i) => (s.status === 'rejected' ? [[i, (s.reason as SyncmgrError).code]] : []));
        expect(failed).toEqual([[32, 'WRONG_TYPE']]);
        expect(await d.getMany(['n0', 'n1', 'n2', 'n3'])).toEqual([16, 16, 16, 16]);
      });
    });

    describe('answers larger than a read', () => {
      it('reads pipelined answers of many reads each, between small ones, intact and in order', async () => {
        // Over TCP and Unix sockets the client reads into one reused 64 KiB buffer: each big answer
        // spans several reads, and small answers share reads with the ends of big ones.
        const d = client.dict(fresh());
        const big = (seed: number): string => `${seed}:` + 'é😀"\\\n'.repeat(20_000 + seed * 997);
        await d.update({ a: big(1), b: big(2), c: big(3) });
        const calls: Array<Promise<unknown>> = [];
        for (let round = 0; round < 4; round++) {
          calls.push(d.get('a'), d.incr(`n${round}`), d.get('b'), d.size(), d.get('c'));
        }
        const results = await Promise.all(calls);
        for (let round = 0; round < 4; round++) {
          expect(results.slice(round * 5, round * 5 + 5)).toEqual([big(1), 1, big(2), 3 + round + 1, big(3)]);
        }
        expect(await d.items()).toEqual([['a', big(1)], ['b', big(2)], ['c', big(3)], ['n0', 1], ['n1', 1], ['n2', 1], ['n3', 1]]);
      });
    });

    describe('frame limit', () => {
      it("refuses a request over the server's maxFrameBytes before sending it, and the connection carries on", async () => {
        const small = await startServer({ maxFrameBytes: 4096 });
        const c = await connectTo(small[transport]);
        const d = c.dict<string>(fresh());
        const before = d.set('kept', 'before'); // in flight while the large one is refused
        // 3,000 UTF-16 units, 6,000 bytes of UTF-8: over 4,096 (the server would close on it).
        const error = await rejectionOf(d.set('large', 'é'.repeat(3000)));
        expect(error).toBeInstanceOf(FrameTooLargeError);
        expect(error.code).toBe('FRAME_TOO_LARGE');
        expect(error.message).toMatch(/the set request is \d+ bytes, over the 4096 bytes .* --max-frame \d+ or more/);
        await before;
        expect(c.status).toBe('ready');
        expect(await d.get('kept')).toBe('before');
        expect(await d.has('large')).toBe(false);
        // Over the limit at 3 bytes per unit but not in real bytes: sent, and stored.
        const near = 'é'.repeat(1900);
        await d.set('near', near);
        expect(await d.get('near')).toBe(near);
        // Plain ASCII is written as a whole frame by the fast path (fast-path.ts): measured the same.
        const ascii = await rejectionOf(d.set('ascii', 'x'.repeat(5000)));
        expect(ascii).toBeInstanceOf(FrameTooLargeError);
        expect(ascii.message).toMatch(/the set request is \d+ bytes, over the 4096 bytes/);
        expect(Number(/is (\d+) bytes/.exec(ascii.message)![1])).toBeGreaterThan(5000);
        await d.set('ascii', 'x'.repeat(3900));
        expect(await d.get('ascii')).toBe('x'.repeat(3900));
        expect(c.status).toBe('ready');
      });
    });

    describe('two clients', () => {
      it("see each other's writes", async () => {
        const name = fresh();
        const other = await connectTo(server[transport]);
        await client.dict(name).set('from', 'first');
        expect(await other.dict(name).get('from')).toBe('first');
        await other.dict<number>(name).incr('count', 5);
        await client.dict<number>(name).incr('count', 2);
        expect(await other.dict(name).get('count')).toBe(7);
        expect(await client.dict(name).items()).toEqual([['from', 'first'], ['count', 7]]);
      });
    });

    describe('timeouts and aborts', () => {
      it('rejects a call that gets no answer within its timeout with TIMEOUT', async () => {
        const quiet = await connectTo(silent.endpoint);
        const started = Date.now();
        const error = await rejectionOf(quiet.dict(fresh()).withOptions({ timeout: 0.05 }).get('k'));
        expect(error).toBeInstanceOf(TimeoutError);
        expect(error.code).toBe('TIMEOUT');
        expect(Date.now() - started).toBeGreaterThanOrEqual(40);
        expect(quiet.inFlight).toBe(0);
        // The connection itself is still usable after a call timed out.
        expect(quiet.status).toBe('ready');
      });

      it('applies the connect-level default timeout to every call', async () => {
        const quiet = await connectTo(silent.endpoint, { timeout: 0.05 });
        expect(await codeOf(quiet.ping())).toBe('TIMEOUT');
        expect(await codeOf(quiet.dict(fresh()).size())).toBe('TIMEOUT');
      });

      it('lets a per-call timeout override the default', async () => {
        const quiet = await connectTo(silent.endpoint, { timeout: 30 });
        expect(await codeOf(quiet.ping({ timeout: 0.02 }))).toBe('TIMEOUT');
      });

      it('does not time out a call answered in time', async () => {
        const d = client.dict<number>(fresh()).withOptions({ timeout: 5 });
        expect(await d.incr('k')).toBe(1);
      });

      it('rejects a pending call with ABORTED when its signal fires', async () => {
        const quiet = await connectTo(silent.endpoint);
        const before = silent.requests.length;
        const controller = new AbortController();
        const call = quiet.dict(fresh()).withOptions({ signal: controller.signal }).get('k');
        await silent.received(before + 1); // the request really went out
        controller.abort(new Error('user gave up'));
        const error = await rejectionOf(call);
        expect(error).toBeInstanceOf(AbortError);
        expect(error.code).toBe('ABORTED');
        expect(quiet.inFlight).toBe(0);
      });

      it('rejects at once with ABORTED, sending nothing, when the signal has already fired', async () => {
        const quiet = await connectTo(silent.endpoint);
        const before = silent.requests.length; // its hello has arrived: connect waited for the answer
        expect(await codeOf(quiet.dict(fresh()).withOptions({ signal: AbortSignal.abort() }).get('k'))).toBe('ABORTED');
        // A request sent after it: were the aborted one sent, it would have arrived first.
        const marker = quiet.ping({ timeout: 5 }).catch(() => {});
        await silent.received(before + 1);
        expect(silent.requests.slice(before).map((r) => r.op)).toEqual(['ping']);
        await quiet.close();
        await marker;
      });

      it('rejects with ABORTED when an AbortSignal.timeout fires before the answer', async () => {
        const quiet = await connectTo(silent.endpoint);
        expect(await codeOf(quiet.ping({ signal: AbortSignal.timeout(20) }))).toBe('ABORTED');
      });
    });

    describe('closing', () => {
      it('rejects every pending call with CONNECTION_CLOSED when the client closes', async () => {
        const quiet = await connect({ authkey: AUTHKEY, ...targetOf(silent.endpoint) });
        const before = silent.requests.length;
        const d = quiet.dict<number>(fresh());
        const calls = [d.get('a'), d.incr('b'), quiet.ping(), d.keys()];
        await silent.received(before + calls.length);
        expect(quiet.inFlight).toBe(4);
        await quiet.close();
        for (const call of calls) {
          const error = await rejectionOf(call);
          expect(error).toBeInstanceOf(ConnectionClosedError);
          expect(error.code).toBe('CONNECTION_CLOSED');
        }
        expect(quiet.inFlight).toBe(0);
      });

      it('rejects pipelined calls still unanswered when close() is called with CONNECTION_CLOSED', async () => {
        const own = await connect({ authkey: AUTHKEY, ...targetOf(server[transport]) });
        const d = own.dict<number>(fresh());
        const calls = Array.from({ length: 20 }, () => d.incr('k'));
        const closed = own.close();
        const settled = await Promise.allSettled(calls);
        await closed;
        // The client stops reading when it closes, whatever the server still sends.
        for (const result of settled) {
          expect(result.status).toBe('rejected');
          expect(((result as PromiseRejectedResult).reason as SyncmgrError).code).toBe('CONNECTION_CLOSED');
        }
      });

      it('moves through closing to closed, emits close, and refuses later calls with CONNECTION_CLOSED', async () => {
        const own = await connect({ authkey: AUTHKEY, ...targetOf(server[transport]) });
        const statuses: string[] = [];
        own.on('status', (status: string) => statuses.push(status));
        let closeEvents = 0;
        own.on('close', () => closeEvents++);
        await own.dict(fresh()).set('k', 1);
        await own.close();
        expect(statuses).toEqual(['closing', 'closed']);
        expect(own.status).toBe('closed');
        expect(closeEvents).toBe(1);
        expect(await codeOf(own.dict(fresh()).get('k'))).toBe('CONNECTION_CLOSED');
        expect(await codeOf(own.ping())).toBe('CONNECTION_CLOSED');
        await own.close(); // idempotent
        expect(closeEvents).toBe(1);
      });

      it('is released by `await using` at the end of its block', async () => {
        const name = fresh();
        let escaped: Client | undefined;
        {
          await using scoped = await connect({ authkey: AUTHKEY, ...targetOf(server[transport]) });
          escaped = scoped;
          await scoped.dict<number>(name).incr('k');
          expect(scoped.status).toBe('ready');
        }
        expect(escaped.status).toBe('closed');
        expect(await client.dict(name).get('k')).toBe(1);
      });

      it('is released by `await using` when its block throws', async () => {
        let escaped: Client | undefined;
        await expect(
          (async () => {
            await using scoped = await connect({ authkey: AUTHKEY, ...targetOf(server[transport]) });
            escaped = scoped;
            throw new Error('inside the block');
          })(),
        ).rejects.toThrow('inside the block');
        expect(escaped?.status).toBe('closed');
      });

      it('receives a shutdown event when the server closes, then emits close', async () => {
        const doomed = await startServer();
        const own = await connect({ authkey: AUTHKEY, ...targetOf(doomed[transport]) });
        await own.dict(fresh()).set('k', 1);
        const seen: string[] = [];
        const events: EventMessage[] = [];
        own.on('event', (event: EventMessage) => {
          events.push(event);
          seen.push(`event:${event.event}`);
        });
        const closed = new Promise<Error | undefined>((resolve) =>
          own.on('close', (reason?: Error) => {
            seen.push('close');
            resolve(reason);
          }),
        );
        await doomed.server.close();
        await closed;
        expect(seen).toEqual(['event:shutdown', 'close']);
        expect(events[0]).toEqual({ event: 'shutdown', data: { instance: doomed.server.instanceId } });
        expect(own.status).toBe('closed');
        expect(await codeOf(own.ping())).toBe('CONNECTION_CLOSED');
      });

      it('answers a call blocked on the server with SHUTTING_DOWN when the server closes', async () => {
        const doomed = await startServer();
        const own = await connect({ authkey: AUTHKEY, ...targetOf(doomed[transport]) });
        const holder = await connect({ authkey: AUTHKEY, ...targetOf(doomed[transport]) });
        const held = await holder.lock('l').acquire();
        expect(held).toBeDefined();
        // Blocks on the server until the lock is free, which it never is.
        const waiting = own.lock('l').acquire();
        // Requests on one connection are served in order: once the ping is answered, the acquire
        // is parked on the server.
        await own.ping();
        expect(own.inFlight).toBe(1);
        const outcome = codeOf(waiting); // handled before the answer can arrive
        await doomed.server.close();
        // server.close(): "Blocked requests get a SHUTTING_DOWN answer while the connection can
        // still carry it."
        expect(await outcome).toBe('SHUTTING_DOWN');
        await holder.close();
      });
    });
  });
}
