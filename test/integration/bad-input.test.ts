/**
 * A real server fed bad input over raw sockets. Every case checks the clear error the misbehaving
 * connection gets (a `{"id": ..., "error": {"code": ...}}` frame once it is authenticated) and that a
 * well-behaved client, connected the whole time, keeps working with its data intact.
 */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import { connect } from '../../src/client/client.js';
import type { DictProxy } from '../../src/client/proxies/dict.js';
import { PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { MAX_NESTING_DEPTH } from '../../src/protocol/message.js';
import { encodeFrame, encodeHeader } from '../../src/protocol/frame.js';
import { AUTHKEY, connectTo, startServer, type TestServer } from '../helpers/server.js';
import { RawClient } from '../helpers/raw-client.js';
import { until } from '../helpers/until.js';

const MAX_FRAME = 4096;
const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');
/** A CPython manager request as captured on the wire (vectors-py313.json, seq 8): a protocol-4 pickle. */
const PICKLE = hex('8004951000000000000000284e8c0564756d6d7994297d9474942e');

/** A client that behaves, with data it checks after every case. */
class Witness {
  private count = 0;
  private closedWith: unknown = 'open';

  private constructor(
    readonly client: Client,
    readonly dict: DictProxy,
  ) {
    client.on('close', (err) => (this.closedWith = err ?? 'closed'));
  }

  static async start(srv: TestServer): Promise<Witness> {
    const client = await connectTo(srv.tcp);
    const dict = client.dict('witness-data');
    await dict.update({ a: 1, b: 'two', c: [3, { d: null }] });
    return new Witness(client, dict);
  }

  /** Its connection never closed, its data is as it left it, and it can still write. */
  async expectIntact(): Promise<void> {
    expect(this.closedWith).toBe('open');
    expect(this.client.status).toBe('ready');
    expect(await this.dict.items()).toEqual([
      ['a', 1],
      ['b', 'two'],
      ['c', [3, { d: null }]],
      ...(this.count > 0 ? [['count', this.count]] : []),
    ]);
    this.count += 1;
    expect(await this.dict.incr('count')).toBe(this.count);
  }
}

/** The next frame is an error not tied to a request, and then the server closes the connection. */
async function expectFatal(raw: RawClient, code: string): Promise<void> {
  expect(await raw.nextJson()).toMatchObject({ id: null, error: { code } });
  await raw.waitClosed();
  await expect(raw.nextFrame()).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
}

/** The connection still answers a ping and an object operation. */
async function expectUsable(raw: RawClient): Promise<void> {
  expect(await raw.request({ id: 'after-ping', op: 'ping' })).toEqual({ id: 'after-ping', result: 'pong' });
  expect(await raw.request({ id: 'after-get', op: 'get', type: 'dict', name: 'raw-scratch', args: ['nothing'] })).toEqual({
    id: 'after-get',
    result: null,
  });
  expect(raw.isClosed).toBe(false);
}

/** A raw client, authenticated and greeted. */
async function greeted(endpoint: TestServer['tcp'] | TestServer['ws']): Promise<RawClient> {
  const raw = await RawClient.connect(endpoint);
  await raw.hello();
  return raw;
}

describe('a server fed bad input', () => {
  let srv: TestServer;
  let witness: Witness;

  beforeAll(async () => {
    srv = await startServer({ maxFrameBytes: MAX_FRAME });
    witness = await Witness.start(srv);
  });

  afterEach(async () => {
    await witness.expectIntact();
  });

  describe('before the handshake', () => {
    it('closes a connection that sends garbage instead of an answer, without a welcome', async () => {
      const raw = await RawClient.connect(srv.tcp, { authkey: false });
      expect((await raw.nextFrame()).subarray(0, 11).toString('latin1')).toBe('#CHALLENGE#');
      // An HTTP request: its first four bytes read as a length far over the 256-byte handshake cap.
      raw.sendBytes(Buffer.from('GET / HTTP/1.1\r\nHost: example\r\n\r\n'));
      await raw.waitClosed();
      await expect(raw.nextFrame()).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
    });

    it('answers #FAILURE# to a well-framed wrong answer, logs it and closes', async () => {
      const failures = (): number => srv.logs.filter((line) => /authentication failed/.test(line)).length;
      const before = failures();
      const raw = await RawClient.connect(srv.tcp, { authkey: false });
      await raw.nextFrame();
      raw.send(Buffer.from('{sha256}' + 'x'.repeat(32)));
      expect((await raw.nextFrame()).toString('latin1')).toBe('#FAILURE#');
      await raw.waitClosed();
      expect(failures()).toBe(before + 1);
    });

    it('closes a connection whose handshake frame has a negative length', async () => {
      const raw = await RawClient.connect(srv.tcp, { authkey: false });
      await raw.nextFrame();
      raw.sendBytes(hex('fffffffe 00'));
      await raw.waitClosed();
    });

    it('closes a WebSocket that sends a text message instead of an answer', async () => {
      const raw = await RawClient.connect(srv.ws, { authkey: false });
      await raw.nextFrame();
      raw.sendText('hello?');
      await raw.waitClosed();
      expect(raw.wsCloseCode).toBe(1002);
    });

    it('refuses our client with AUTH_FAILED on a wrong authkey and logs the failure', async () => {
      const before = srv.logs.filter((line) => /authentication failed/.test(line)).length;
      await expect(connect({ host: srv.tcp.host, port: srv.tcp.port, authkey: 'not-the-key' })).rejects.toMatchObject({
        code: 'AUTH_FAILED',
        name: 'AuthenticationError',
      });
      await until(() => srv.logs.filter((line) => /authentication failed/.test(line)).length > before);
    });

    it('refuses our client with AUTH_FAILED on a wrong authkey over unix and ws too', async () => {
      await expect(connect({ path: srv.unix.path, authkey: 'not-the-key' })).rejects.toMatchObject({ code: 'AUTH_FAILED' });
      await expect(connect({ url: srv.ws.url, authkey: 'not-the-key' })).rejects.toMatchObject({ code: 'AUTH_FAILED' });
    });
  });

  describe('framing after the handshake', () => {
    it('answers PROTOCOL_ERROR and closes on garbage whose first bytes read as a negative length', async () => {
      const raw = await greeted(srv.tcp);
      raw.sendBytes(hex('deadbeef cafebabe 0102030405'));
      await expectFatal(raw, 'PROTOCOL_ERROR');
    });

    it('answers FRAME_TOO_LARGE and closes on text garbage whose first bytes read as a huge length', async () => {
      const raw = await greeted(srv.tcp);
      raw.sendBytes(Buffer.from('hello world, this is not a frame'));
      await expectFatal(raw, 'FRAME_TOO_LARGE');
    });

    it('answers FRAME_TOO_LARGE as soon as a header over maxFrameBytes arrives, before any payload', async () => {
      const raw = await greeted(srv.tcp);
      // Only the header: the server must decide on it and not wait for (or buffer) the payload.
      raw.sendBytes(encodeHeader(MAX_FRAME + 1));
      await expectFatal(raw, 'FRAME_TOO_LARGE');
    });

    it('answers FRAME_TOO_LARGE to an oversized header even on the first frame after the handshake', async () => {
      const raw = await RawClient.connect(srv.tcp);
      raw.sendBytes(encodeHeader(0x7fffffff));
      await expectFatal(raw, 'FRAME_TOO_LARGE');
    });

    it('answers FRAME_TOO_LARGE to an extended (ffffffff + u64) header over maxFrameBytes', async () => {
      const raw = await greeted(srv.tcp);
      raw.sendBytes(hex('ffffffff 0000000100000000'));
      await expectFatal(raw, 'FRAME_TOO_LARGE');
    });

    it('closes a connection that keeps streaming the payload of an oversized frame', async () => {
      const raw = await greeted(srv.tcp);
      raw.sendBytes(encodeHeader(64 * 1024 * 1024));
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const streaming = setInterval(() => {
        if (!raw.isClosed) raw.sendBytes(chunk);
      }, 1);
      try {
        expect(await raw.nextJson()).toMatchObject({ id: null, error: { code: 'FRAME_TOO_LARGE' } });
        await raw.waitClosed(5000);
      } finally {
        clearInterval(streaming);
      }
    });

    it('accepts a frame of exactly maxFrameBytes', async () => {
      const raw = await greeted(srv.tcp);
      const request = { id: 'big', op: 'set', type: 'dict', name: 'raw-scratch', args: ['big', ''] };
      const bare = JSON.stringify(request).length;
      request.args[1] = 'x'.repeat(MAX_FRAME - bare);
      const text = JSON.stringify(request);
      expect(Buffer.byteLength(text)).toBe(MAX_FRAME);
      expect(await raw.request(request)).toEqual({ id: 'big', result: null });
    });

    it('answers PROTOCOL_ERROR and closes on a negative length header', async () => {
      const raw = await greeted(srv.tcp);
      raw.sendBytes(hex('fffffff0'));
      await expectFatal(raw, 'PROTOCOL_ERROR');
    });

    it('forgets a connection that sends a truncated frame and disconnects', async () => {
      const raw = await RawClient.connect(srv.tcp);
      const session = (await raw.hello()).result.session as number;
      const count = srv.server.connectionCount;
      raw.sendBytes(Buffer.concat([encodeHeader(100), Buffer.from('{"id":1,"op":"set"')]));
      raw.destroy();
      await until(() => srv.server.connectionCount === count - 1);
      await until(() => srv.logs.some((line) => line.startsWith(`session ${session} closed`)));
    });

    it('answers PROTOCOL_ERROR to a pickle (first byte 0x80) as the first frame and closes', async () => {
      const raw = await RawClient.connect(srv.tcp);
      raw.send(PICKLE);
      await expectFatal(raw, 'PROTOCOL_ERROR');
    });

    it('answers PROTOCOL_ERROR to a first frame that is not a JSON object and closes', async () => {
      const raw = await RawClient.connect(srv.tcp);
      raw.send('[1, 2, 3]');
      await expectFatal(raw, 'PROTOCOL_ERROR');
    });

    it('answers PROTOCOL_ERROR and closes over a Unix socket as over TCP', async () => {
      const pickled = await RawClient.connect(srv.unix);
      pickled.send(PICKLE);
      await expectFatal(pickled, 'PROTOCOL_ERROR');
      const negative = await RawClient.connect(srv.unix);
      await negative.hello();
      negative.sendBytes(hex('ffff0000'));
      await expectFatal(negative, 'PROTOCOL_ERROR');
      const oversized = await RawClient.connect(srv.unix);
      oversized.sendBytes(encodeHeader(MAX_FRAME + 1));
      await expectFatal(oversized, 'FRAME_TOO_LARGE');
    });

    it('answers PROTOCOL_ERROR to an empty first frame and closes', async () => {
      const raw = await RawClient.connect(srv.tcp);
      raw.send(Buffer.alloc(0));
      await expectFatal(raw, 'PROTOCOL_ERROR');
    });
  });

  describe('messages', () => {
    it('answers PROTOCOL_ERROR to invalid JSON and keeps the connection usable', async () => {
      const raw = await greeted(srv.tcp);
      raw.send('{"id": 1, "op": "ping"');
      expect(await raw.nextJson()).toMatchObject({ id: null, error: { code: 'PROTOCOL_ERROR' } });
      raw.send('{"id": 2, "op": "ping",}');
      expect(await raw.nextJson()).toMatchObject({ id: null, error: { code: 'PROTOCOL_ERROR' } });
      await expectUsable(raw);
    });

    it('answers PROTOCOL_ERROR to invalid JSON sent as the very first frame and stays usable', async () => {
      const raw = await RawClient.connect(srv.tcp);
      raw.send('{not json');
      expect(await raw.nextJson()).toMatchObject({ id: null, error: { code: 'PROTOCOL_ERROR' } });
      await raw.hello();
      await expectUsable(raw);
    });

    const BAD_UTF8: Array<[string, string]> = [
      ['a stray 0xff byte', 'ff'],
      ['a truncated sequence', 'e282'],
      ['an overlong encoding of "/"', 'c0af'],
      ['an encoded UTF-16 surrogate', 'eda080'],
    ];
    for (const [name, bytes] of BAD_UTF8) {
      it(`answers PROTOCOL_ERROR to invalid UTF-8 (${name}) and keeps the connection usable`, async () => {
        const raw = await greeted(srv.tcp);
        raw.send(Buffer.concat([Buffer.from('{"id": 3, "op": "set", "type": "dict", "name": "raw-scratch", "args": ["k", "'), hex(bytes), Buffer.from('"]}')]));
        expect(await raw.nextJson()).toMatchObject({ id: null, error: { code: 'PROTOCOL_ERROR' } });
        // Nothing was stored with a replacement character instead.
        expect(await raw.request({ id: 4, op: 'has', type: 'dict', name: 'raw-scratch', args: ['k'] })).toEqual({ id: 4, result: false });
        await expectUsable(raw);
      });
    }

    const NOT_OBJECTS = ['[1, 2]', '"text"', '42', 'null', 'true'];
    for (const text of NOT_OBJECTS) {
      it(`answers BAD_REQUEST to a message that is not an object (${text}) and stays usable`, async () => {
        const raw = await greeted(srv.tcp);
        raw.send(text);
        expect(await raw.nextJson()).toMatchObject({ id: null, error: { code: 'BAD_REQUEST' } });
        await expectUsable(raw);
      });
    }

    const BAD_IDS: Array<[string, string]> = [
      ['a missing id', '{"op": "ping"}'],
      ['a null id', '{"id": null, "op": "ping"}'],
      ['an object id', '{"id": {}, "op": "ping"}'],
      ['a fractional id', '{"id": 1.5, "op": "ping"}'],
      ['an id beyond 2^53', '{"id": 9007199254740993, "op": "ping"}'],
      ['a string id of 65 characters', `{"id": "${'i'.repeat(65)}", "op": "ping"}`],
    ];
    for (const [name, text] of BAD_IDS) {
      it(`answers BAD_REQUEST with a null id to ${name}`, async () => {
        const raw = await greeted(srv.tcp);
        raw.send(text);
        expect(await raw.nextJson()).toMatchObject({ id: null, error: { code: 'BAD_REQUEST' } });
        await expectUsable(raw);
      });
    }

    const BAD_SHAPES: Array<[string, object]> = [
      ['a missing op', { id: 7, type: 'dict', name: 'raw-scratch', args: [] }],
      ['an empty op', { id: 7, op: '' }],
      ['args that are not an array', { id: 7, op: 'get', type: 'dict', name: 'raw-scratch', args: { 0: 'k' } }],
      ['a name without a type', { id: 7, op: 'get', name: 'raw-scratch', args: ['k'] }],
      ['a type without a name', { id: 7, op: 'get', type: 'dict', args: ['k'] }],
      ['a numeric name', { id: 7, op: 'get', type: 'dict', name: 12, args: ['k'] }],
      ['a name over 1024 characters', { id: 7, op: 'get', type: 'dict', name: 'n'.repeat(1025), args: ['k'] }],
      ['an init that is not an object', { id: 7, op: 'get', type: 'dict', name: 'raw-scratch', args: ['k'], init: 3 }],
    ];
    for (const [name, request] of BAD_SHAPES) {
      it(`answers BAD_REQUEST, echoing the id, to ${name}`, async () => {
        const raw = await greeted(srv.tcp);
        expect(await raw.request(request)).toMatchObject({ id: 7, error: { code: 'BAD_REQUEST' } });
        await expectUsable(raw);
      });
    }

    const UNKNOWN_TYPES = ['nosuchtype', '__proto__', 'constructor', 'toString', 'Dict'];
    for (const type of UNKNOWN_TYPES) {
      it(`answers UNKNOWN_TYPE to the object type ${JSON.stringify(type)}`, async () => {
        const raw = await greeted(srv.tcp);
        expect(await raw.request({ id: 10, op: 'get', type, name: `obj-of-${type}`, args: ['k'] })).toMatchObject({
          id: 10,
          error: { code: 'UNKNOWN_TYPE' },
        });
        await expectUsable(raw);
      });
    }

    const UNKNOWN_METHODS = ['frobnicate', '__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'GET'];
    for (const op of UNKNOWN_METHODS) {
      it(`answers UNKNOWN_METHOD to the dict method ${JSON.stringify(op)}`, async () => {
        const raw = await greeted(srv.tcp);
        expect(await raw.request({ id: 11, op, type: 'dict', name: 'witness-data', args: [] })).toMatchObject({
          id: 11,
          error: { code: 'UNKNOWN_METHOD' },
        });
        await expectUsable(raw);
      });
    }

    it('answers UNKNOWN_METHOD to an unknown server operation', async () => {
      const raw = await greeted(srv.tcp);
      expect(await raw.request({ id: 12, op: 'shutdown' })).toMatchObject({ id: 12, error: { code: 'UNKNOWN_METHOD' } });
      expect(await raw.request({ id: 13, op: 'constructor' })).toMatchObject({ id: 13, error: { code: 'UNKNOWN_METHOD' } });
      await expectUsable(raw);
    });

    const BAD_ARGS: Array<[string, string, unknown[]]> = [
      ['a numeric key', 'incr', [5]],
      ['a string increment', 'incr', ['n', 'x']],
      ['a null increment', 'incr', ['n', null]],
      ['too many arguments', 'incr', ['n', 1, 2]],
      ['no arguments', 'get', []],
      ['an array key', 'set', [['n'], 1]],
      ['entries that are a string', 'update', ['n=1']],
      ['entries with a malformed pair', 'update', [[['n']]]],
      ['keys that are not strings', 'getMany', [[1, 2]]],
    ];
    for (const [name, op, args] of BAD_ARGS) {
      it(`answers INVALID_ARGUMENT to ${op} with ${name}, leaving the dict unchanged`, async () => {
        const raw = await greeted(srv.tcp);
        const dict = { type: 'dict', name: 'raw-typed' };
        await raw.request({ id: 20, op: 'set', ...dict, args: ['n', 41] });
        expect(await raw.request({ id: 21, op, ...dict, args })).toMatchObject({ id: 21, error: { code: 'INVALID_ARGUMENT' } });
        expect(await raw.request({ id: 22, op: 'items', ...dict, args: [] })).toEqual({ id: 22, result: [['n', 41]] });
      });
    }

    it('answers OUT_OF_RANGE to an incr that would overflow to Infinity, leaving the value unchanged', async () => {
      const raw = await greeted(srv.tcp);
      const dict = { type: 'dict', name: 'raw-overflow' };
      await raw.request({ id: 1, op: 'set', ...dict, args: ['n', Number.MAX_VALUE] });
      expect(await raw.request({ id: 2, op: 'incr', ...dict, args: ['n', Number.MAX_VALUE] })).toMatchObject({ id: 2, error: { code: 'OUT_OF_RANGE' } });
      expect(await raw.request({ id: 3, op: 'get', ...dict, args: ['n'] })).toEqual({ id: 3, result: Number.MAX_VALUE });
    });

    it('answers WRONG_TYPE to incr on a string and leaves the value unchanged', async () => {
      const raw = await greeted(srv.tcp);
      const dict = { type: 'dict', name: 'raw-strings' };
      await raw.request({ id: 30, op: 'set', ...dict, args: ['s', 'abc'] });
      expect(await raw.request({ id: 31, op: 'incr', ...dict, args: ['s', 1] })).toMatchObject({ id: 31, error: { code: 'WRONG_TYPE' } });
      expect(await raw.request({ id: 32, op: 'get', ...dict, args: ['s'] })).toEqual({ id: 32, result: 'abc' });
    });

    it('answers WRONG_TYPE through the typed client too, leaving the value unchanged', async () => {
      const dict = witness.client.dict('typed-strings');
      await dict.set('s', 'abc');
      await expect(dict.incr('s')).rejects.toMatchObject({ code: 'WRONG_TYPE', name: 'RemoteError' });
      expect(await dict.get('s')).toBe('abc');
    });

    it('answers WRONG_TYPE when a dict name is used as another type', async () => {
      const raw = await greeted(srv.tcp);
      expect(await raw.request({ id: 33, op: 'append', type: 'list', name: 'witness-data', args: [1] })).toMatchObject({
        id: 33,
        error: { code: 'WRONG_TYPE' },
      });
    });
  });

  describe('hello', () => {
    it('answers HELLO_REQUIRED to an object request before hello, then serves after hello', async () => {
      const raw = await RawClient.connect(srv.tcp);
      expect(await raw.request({ id: 1, op: 'get', type: 'dict', name: 'witness-data', args: ['a'] })).toMatchObject({
        id: 1,
        error: { code: 'HELLO_REQUIRED' },
      });
      expect(await raw.request({ id: 2, op: 'atomic', args: [[{ op: 'get', type: 'dict', name: 'witness-data', args: ['a'] }]] })).toMatchObject({
        id: 2,
        error: { code: 'HELLO_REQUIRED' },
      });
      await raw.hello();
      expect(await raw.request({ id: 3, op: 'get', type: 'dict', name: 'witness-data', args: ['a'] })).toEqual({ id: 3, result: 1 });
    });

    const BAD_HELLOS: Array<[string, unknown[]]> = [
      ['a newer protocol', [{ protocol: PROTOCOL_VERSION + 1 }]],
      ['protocol 0', [{ protocol: 0 }]],
      ['the version as a string', [{ protocol: String(PROTOCOL_VERSION) }]],
      ['no protocol field', [{}]],
      ['no arguments', []],
      ['a bare number', [PROTOCOL_VERSION]],
    ];
    for (const [name, args] of BAD_HELLOS) {
      it(`answers UNSUPPORTED_PROTOCOL to a hello with ${name}, and still requires a good hello`, async () => {
        const raw = await RawClient.connect(srv.tcp);
        expect(await raw.request({ id: 1, op: 'hello', args })).toMatchObject({
          id: 1,
          error: { code: 'UNSUPPORTED_PROTOCOL', details: { protocol: PROTOCOL_VERSION } },
        });
        expect(await raw.request({ id: 2, op: 'get', type: 'dict', name: 'witness-data', args: ['a'] })).toMatchObject({
          id: 2,
          error: { code: 'HELLO_REQUIRED' },
        });
        await raw.hello();
        expect(await raw.request({ id: 3, op: 'get', type: 'dict', name: 'witness-data', args: ['a'] })).toEqual({ id: 3, result: 1 });
      });
    }
  });

  describe('keys named like Object.prototype members', () => {
    const NAMES = ['__proto__', 'constructor', 'toString'];

    afterEach(() => {
      // The server runs in this process: pollution would show here.
      expect(Object.prototype).not.toHaveProperty('polluted');
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      expect(typeof ({} as object).toString).toBe('function');
      expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    });

    it('reads them as missing keys in a fresh dict', async () => {
      const raw = await greeted(srv.tcp);
      for (const key of NAMES) {
        expect(await raw.request({ id: 1, op: 'get', type: 'dict', name: 'proto-fresh', args: [key] })).toEqual({ id: 1, result: null });
        expect(await raw.request({ id: 2, op: 'has', type: 'dict', name: 'proto-fresh', args: [key] })).toEqual({ id: 2, result: false });
      }
      expect(await raw.request({ id: 3, op: 'keys', type: 'dict', name: 'proto-fresh', args: [] })).toEqual({ id: 3, result: [] });
    });

    it('stores them with set and reads them back with get', async () => {
      const raw = await greeted(srv.tcp);
      // Sent as text: a JS object literal would turn "__proto__" into a prototype, not a key.
      raw.send('{"id": 1, "op": "set", "type": "dict", "name": "proto-set", "args": ["__proto__", {"polluted": true}]}');
      expect(await raw.nextJson()).toEqual({ id: 1, result: null });
      raw.send('{"id": 2, "op": "set", "type": "dict", "name": "proto-set", "args": ["constructor", {"prototype": {"polluted": true}}]}');
      expect(await raw.nextJson()).toEqual({ id: 2, result: null });
      raw.send('{"id": 3, "op": "set", "type": "dict", "name": "proto-set", "args": ["toString", 3]}');
      expect(await raw.nextJson()).toEqual({ id: 3, result: null });
      const get = async (key: string) => (await raw.request({ id: 'g', op: 'get', type: 'dict', name: 'proto-set', args: [key] })).result;
      expect(await get('__proto__')).toEqual({ polluted: true });
      expect(await get('constructor')).toEqual({ prototype: { polluted: true } });
      expect(await get('toString')).toBe(3);
      expect((await raw.request({ id: 4, op: 'keys', type: 'dict', name: 'proto-set', args: [] })).result).toEqual(NAMES);
      expect((await raw.request({ id: 5, op: 'size', type: 'dict', name: 'proto-set', args: [] })).result).toBe(3);
    });

    it('stores them from an update object and lists them in items and keys', async () => {
      const raw = await greeted(srv.tcp);
      raw.send('{"id": 1, "op": "update", "type": "dict", "name": "proto-update", "args": [{"__proto__": {"polluted": 1}, "constructor": 2, "toString": 3}]}');
      expect(await raw.nextJson()).toEqual({ id: 1, result: null });
      const items = await raw.request({ id: 2, op: 'items', type: 'dict', name: 'proto-update', args: [] });
      expect(items.result).toEqual([
        ['__proto__', { polluted: 1 }],
        ['constructor', 2],
        ['toString', 3],
      ]);
      expect((await raw.request({ id: 3, op: 'keys', type: 'dict', name: 'proto-update', args: [] })).result).toEqual(NAMES);
    });

    it('stores them from update pairs and counts from zero with incr', async () => {
      const raw = await greeted(srv.tcp);
      expect(
        await raw.request({ id: 1, op: 'update', type: 'dict', name: 'proto-pairs', args: [[['__proto__', 1], ['constructor', 2]]] }),
      ).toEqual({ id: 1, result: null });
      expect(await raw.request({ id: 2, op: 'incr', type: 'dict', name: 'proto-pairs', args: ['toString'] })).toEqual({ id: 2, result: 1 });
      expect(await raw.request({ id: 3, op: 'incr', type: 'dict', name: 'proto-pairs', args: ['__proto__', 5] })).toEqual({ id: 3, result: 6 });
      expect((await raw.request({ id: 4, op: 'items', type: 'dict', name: 'proto-pairs', args: [] })).result).toEqual([
        ['__proto__', 6],
        ['constructor', 2],
        ['toString', 1],
      ]);
    });

    it('keeps them plain keys end to end through the typed client', async () => {
      const dict = witness.client.dict<unknown>('proto-typed');
      await dict.update(new Map<string, unknown>([['__proto__', { polluted: true }], ['constructor', 'c']]));
      await dict.set('toString', 't');
      expect(await dict.get('__proto__')).toEqual({ polluted: true });
      expect(await dict.items()).toEqual([
        ['__proto__', { polluted: true }],
        ['constructor', 'c'],
        ['toString', 't'],
      ]);
      expect(await dict.getMany(NAMES)).toEqual([{ polluted: true }, 'c', 't']);
    });

    it('uses them as object names like any other', async () => {
      const raw = await greeted(srv.tcp);
      for (const name of NAMES) {
        expect(await raw.request({ id: 1, op: 'incr', type: 'dict', name, args: ['n'] })).toEqual({ id: 1, result: 1 });
      }
    });
  });

  describe('WebSocket', () => {
    it('answers PROTOCOL_ERROR to a text message after the handshake and closes', async () => {
      const raw = await greeted(srv.ws);
      raw.sendText(JSON.stringify({ id: 1, op: 'ping' }));
      await expectFatal(raw, 'PROTOCOL_ERROR');
    });

    it('answers PROTOCOL_ERROR to a binary message holding two frames and closes', async () => {
      const raw = await greeted(srv.ws);
      raw.sendBytes(Buffer.concat([encodeFrame('{"id":1,"op":"ping"}'), encodeFrame('{"id":2,"op":"ping"}')]));
      await expectFatal(raw, 'PROTOCOL_ERROR');
    });

    it('answers PROTOCOL_ERROR to a binary message shorter than its header announces and closes', async () => {
      const raw = await greeted(srv.ws);
      raw.sendBytes(Buffer.concat([encodeHeader(50), Buffer.from('{"id":1}')]));
      await expectFatal(raw, 'PROTOCOL_ERROR');
    });

    it('answers FRAME_TOO_LARGE to a header over maxFrameBytes in a binary message and closes', async () => {
      const raw = await greeted(srv.ws);
      raw.sendBytes(encodeHeader(MAX_FRAME + 1));
      await expectFatal(raw, 'FRAME_TOO_LARGE');
    });

    it('closes with 1009 a binary message larger than the WebSocket payload limit', async () => {
      const raw = await greeted(srv.ws);
      // ws refuses it from its own frame header (maxPayload = maxFrameBytes + 12), before buffering.
      raw.sendBytes(encodeFrame(Buffer.alloc(MAX_FRAME + 100, 0x20)));
      await raw.waitClosed();
      expect(raw.wsCloseCode).toBe(1009);
    });

    it('serves one frame per binary message', async () => {
      const raw = await greeted(srv.ws);
      expect(await raw.request({ id: 1, op: 'ping' })).toEqual({ id: 1, result: 'pong' });
    });
  });
});

describe('a server with a handshake deadline', () => {
  let srv: TestServer;
  let witness: Witness;

  beforeAll(async () => {
    srv = await startServer({ handshakeTimeoutMs: 300 });
    witness = await Witness.start(srv);
  });

  afterEach(async () => {
    await witness.expectIntact();
  });

  it('closes a client that connects and never speaks at the deadline, and logs it', async () => {
    const raw = await RawClient.connect(srv.tcp, { authkey: false });
    expect((await raw.nextFrame()).subarray(0, 11).toString('latin1')).toBe('#CHALLENGE#');
    const openFor = await raw.waitClosed(3000);
    expect(openFor).toBeGreaterThanOrEqual(250);
    expect(openFor).toBeLessThan(2000);
    await until(() => srv.logs.some((line) => /handshake timed out/.test(line)));
  });

  it('closes a client that trickles its answer slower than the deadline', async () => {
    const raw = await RawClient.connect(srv.tcp, { authkey: false });
    await raw.nextFrame();
    raw.sendBytes(hex('00'));
    const trickle = setInterval(() => {
      if (!raw.isClosed) raw.sendBytes(hex('00'));
    }, 100);
    try {
      const openFor = await raw.waitClosed(3000);
      expect(openFor).toBeLessThan(2000);
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes a WebSocket client that never speaks at the deadline', async () => {
    const raw = await RawClient.connect(srv.ws, { authkey: false });
    await raw.nextFrame();
    expect(await raw.waitClosed(3000)).toBeLessThan(2000);
  });

  it('frees the slots of timed-out connections', async () => {
    const raws = await Promise.all([1, 2, 3].map(() => RawClient.connect(srv.tcp, { authkey: false })));
    await until(() => srv.server.connectionCount >= 4);
    await Promise.all(raws.map((raw) => raw.waitClosed(3000)));
    await until(() => srv.server.connectionCount === 1);
  });

  it('does not cut a session that completed its handshake in time', async () => {
    const raw = await RawClient.connect(srv.tcp);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(raw.isClosed).toBe(false);
    await raw.hello();
    expect(await raw.request({ id: 1, op: 'ping' })).toEqual({ id: 1, result: 'pong' });
  });
});

describe('a server at maxConnections', () => {
  let srv: TestServer;
  let witness: Witness;

  beforeAll(async () => {
    srv = await startServer({ maxConnections: 3 });
    witness = await Witness.start(srv);
  });

  afterEach(async () => {
    await witness.expectIntact();
  });

  it('refuses connections beyond the limit with TOO_MANY_CONNECTIONS and leaves earlier clients alone', async () => {
    const second = await connectTo(srv.unix, { heartbeats: false });
    const third = await connectTo(srv.ws, { heartbeats: false });
    await second.dict('limit').set('second', 2);
    for (const target of [
      { host: srv.tcp.host, port: srv.tcp.port },
      { path: srv.unix.path },
      { url: srv.ws.url },
    ]) {
      await expect(connect({ ...target, authkey: AUTHKEY, heartbeats: false })).rejects.toMatchObject({
        code: 'TOO_MANY_CONNECTIONS',
        name: 'ConnectionError',
      });
    }
    expect(srv.logs.some((line) => /^refused /.test(line))).toBe(true);
    expect(await second.dict('limit').get('second')).toBe(2);
    expect(await third.dict('limit').incr('third')).toBe(1);

    // A raw client sees the #REFUSED# frame instead of a challenge, then the close.
    const raw = await RawClient.connect(srv.tcp, { authkey: false });
    expect((await raw.nextFrame()).subarray(0, 9).toString('latin1')).toBe('#REFUSED#');
    await raw.waitClosed();

    // A freed slot can be taken again.
    await third.close();
    await until(() => srv.server.connectionCount === 2);
    const again = await connectTo(srv.tcp, { heartbeats: false });
    expect(await again.dict('limit').get('third')).toBe(1);
    await again.close();
    await second.close();
  });

  it('counts connections still in the handshake against the limit, and gives the oldest one\'s slot to a newcomer', async () => {
    await until(() => srv.server.connectionCount === 1);
    const pending = await Promise.all([1, 2].map(() => RawClient.connect(srv.tcp, { authkey: false })));
    await until(() => srv.server.connectionCount === 3);
    const newcomer = await connect({ host: srv.tcp.host, port: srv.tcp.port, authkey: AUTHKEY, heartbeats: false });
    await pending[0]!.waitClosed();
    expect(pending[1]!.isClosed).toBe(false);
    await newcomer.close();
    for (const raw of pending) raw.destroy();
    await until(() => srv.server.connectionCount === 1);
  });
});

describe('a server with the default 16 MiB frame limit', () => {
  let srv: TestServer;
  let witness: Witness;

  beforeAll(async () => {
    srv = await startServer();
    witness = await Witness.start(srv);
  });

  afterEach(async () => {
    await witness.expectIntact();
  });

  it('refuses a value nested too deep to be read back, so it cannot make a shared dict unreadable', async () => {
    const raw = await greeted(srv.tcp);
    // Valid JSON that JSON.parse accepts but JSON.stringify cannot write back (stack overflow):
    // stored in the witness's dict, it would make every later items() fail for every client.
    const depth = 100_000;
    raw.send(`{"id": 1, "op": "set", "type": "dict", "name": "witness-data", "args": ["deep", ${'['.repeat(depth)}${']'.repeat(depth)}]}`);
    expect(await raw.nextJson()).toMatchObject({ id: 1, error: { code: 'BAD_REQUEST' } });
    raw.send(`{"id": 2, "op": "update", "type": "dict", "name": "witness-data", "args": [{"deep": ${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}]}`);
    expect(await raw.nextJson()).toMatchObject({ id: 2, error: { code: 'BAD_REQUEST' } });
    await expectUsable(raw);
  });

  it('accepts a request nested exactly MAX_NESTING_DEPTH levels deep and reads the value back', async () => {
    const raw = await greeted(srv.tcp);
    // The request itself adds two levels: the message object and its args array.
    const depth = MAX_NESTING_DEPTH - 2;
    const value = JSON.parse('['.repeat(depth) + ']'.repeat(depth));
    expect(await raw.request({ id: 1, op: 'set', type: 'dict', name: 'raw-nested', args: ['v', value] })).toEqual({ id: 1, result: null });
    expect(await raw.request({ id: 2, op: 'get', type: 'dict', name: 'raw-nested', args: ['v'] })).toEqual({ id: 2, result: value });
    expect((await raw.request({ id: 3, op: 'items', type: 'dict', name: 'raw-nested', args: [] })).result).toEqual([['v', value]]);
    const deeper = JSON.parse('['.repeat(depth + 1) + ']'.repeat(depth + 1));
    expect(await raw.request({ id: 4, op: 'set', type: 'dict', name: 'raw-nested', args: ['w', deeper] })).toMatchObject({
      id: 4,
      error: { code: 'BAD_REQUEST' },
    });
  });

  it('does not count brackets inside strings, escaped quotes and backslashes included, as nesting', async () => {
    const raw = await greeted(srv.tcp);
    const value = ['['.repeat(5000), '\\"' + '{'.repeat(5000), { k: '\\' }, '"[[' + ']'.repeat(10), '\\\\"[['];
    expect(await raw.request({ id: 1, op: 'set', type: 'dict', name: 'raw-strings', args: ['v', value] })).toEqual({ id: 1, result: null });
    expect(await raw.request({ id: 2, op: 'get', type: 'dict', name: 'raw-strings', args: ['v'] })).toEqual({ id: 2, result: value });
  });
});
