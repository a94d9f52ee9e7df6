/**
 * The fast paths of the message codec (src/protocol/fast-path.ts) against JSON.parse and
 * JSON.stringify. Each accepted vector must give exactly JSON.parse's value, and every mutation of
 * the vectors (each byte cut, replaced or doubled) is either refused, so JSON.parse reads it, or
 * read as JSON.parse reads it. The writers must write exactly encodeRequest's and encodeResult's
 * bytes, framed, or refuse.
 */
import { describe, expect, it } from 'vitest';
import { encodeFrame } from '../../../src/protocol/frame.js';
import { encodeRequest, encodeResult, MAX_NAME_LENGTH, parseRequest, parseServerMessage, type Request } from '../../../src/protocol/message.js';
import { encodeRequestFrame, encodeRequestTarget, encodeResultFrame, scanObjectRequest, scanSimpleResult } from '../../../src/protocol/fast-path.js';

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8');
const scanRequest = (payload: Buffer) => scanObjectRequest(payload, MAX_NAME_LENGTH);

/** What JSON.parse makes of `payload`, or undefined when it is not JSON. */
function jsonValue(payload: Buffer): unknown {
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch {
    return undefined;
  }
}

const REQUESTS = [
  '{"id":1,"op":"incr","type":"dict","name":"hits","args":["k"]}',
  '{"id":123456789012345,"op":"incr","type":"dict","name":"hits","args":["k",-17]}',
  '{"id":-4,"op":"set","type":"dict","name":"a-much-longer-object-name","args":["key with spaces ~!#$%&\'()*+,-./:;<=>?@[]^_`{|}",0]}',
  '{"id":"req-7","op":"get","type":"dict","name":"x","args":["k",null]}',
  '{"id":2,"op":"acquire","type":"lock","name":"L","args":[true,false,null,"",0]}',
  '{"id":0,"op":"items","type":"dict","name":"d","args":[]}',
];

const RESULTS = [
  '{"id":1,"result":8}',
  '{"id":99,"result":-123456789012345}',
  '{"id":"abc","result":"a string, with: {brackets} and [more]"}',
  '{"id":3,"result":true}',
  '{"id":4,"result":false}',
  '{"id":5,"result":null}',
  '{"id":6,"result":""}',
  '{"id":7,"result":0}',
  '{"id":8,"result":{"token":"f3Tq-9_xYz","fence":12,"depth":1}}',
  '{"id":9,"result":{}}',
  '{"id":10,"result":{"":null,"a b":true,"c":false,"d":-3,"e":"","f":0,"g":"x","h":1}}',
  '{"id":11,"result":{"a":1,"b":2,"a":3}}',
  '{"id":12,"result":{"2":"two","1":"one"}}',
];

/** Valid JSON the scanners must leave to JSON.parse (each would be read wrongly or not at all). */
const LEFT_TO_JSON_PARSE = [
  '{"id":1,"result":-0}',
  '{"id":1,"result":1.5}',
  '{"id":1,"result":1e3}',
  '{"id":1,"result":1234567890123456}',
  '{"id":1,"result":"caf\\u00e9"}',
  '{"id":1,"result":"café"}',
  '{"id":1,"result":"tab\\there"}',
  '{"id":1,"result":[1]}',
  '{"id":1,"result":{"a":{"b":1}}}',
  '{"id":1,"result":{"a":[1]}}',
  '{"id":1,"result":{"a":1.5}}',
  '{"id":1,"result":{"__proto__":1}}',
  '{"id":1,"result":{"a\\"b":1}}',
  '{"id":1,"result":{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9}}',
  '{"id":1,"result":{ "a":1}}',
  '{"id":1,"result":{"a" :1}}',
  '{"id":1, "result":1}',
  '{"result":1,"id":1}',
  '{"id":1,"result":1,"result":2}',
  '{"id":1,"error":{"code":"X","message":"m"}}',
  '{"id":"' + 'i'.repeat(65) + '","result":1}',
  '{"id":1,"op":"incr","type":"dict","name":"hits","args":["k"],"init":{}}',
  '{"id":1,"op":"incr","type":"dict","name":"hits","args":[["k"]]}',
  '{"id":1,"op":"incr","type":"dict","name":"","args":["k"]}',
  '{"id":1,"op":"","type":"dict","name":"n","args":["k"]}',
  '{"id":1,"op":"incr","name":"hits","type":"dict","args":["k"]}',
  '{"id":1,"op":"incr","type":"dict","name":"hits","args":["k"],"args":[]}',
  '{"id":1.5,"op":"incr","type":"dict","name":"hits","args":["k"]}',
  '{"id":1,"op":"incr","type":"dict","name":"hits","args":["\\"k"]}',
  '{"id":1,"op":"hello","args":[{"protocol":1}]}',
];

describe('scanObjectRequest', () => {
  it.each(REQUESTS)('reads %s as JSON.parse does', (text) => {
    const scanned = scanRequest(bytes(text));
    expect(scanned).toBeDefined();
    expect(scanned).toStrictEqual(JSON.parse(text));
  });

  it('leaves a name over the limit to the general path, which rejects it', () => {
    const text = `{"id":1,"op":"get","type":"dict","name":"${'n'.repeat(MAX_NAME_LENGTH + 1)}","args":["k"]}`;
    expect(scanRequest(bytes(text))).toBeUndefined();
    expect(() => parseRequest(bytes(text))).toThrow(/"name" must be a string of 1 to 1024 characters/);
    const longest = `{"id":1,"op":"get","type":"dict","name":"${'n'.repeat(MAX_NAME_LENGTH)}","args":["k"]}`;
    expect(scanRequest(bytes(longest))?.name).toHaveLength(MAX_NAME_LENGTH);
  });

  it('gives parseRequest the same request the general path gives', () => {
    // The same request with a space added is refused by the scanner and parsed by JSON.parse.
    for (const text of REQUESTS) {
      expect(parseRequest(bytes(text))).toStrictEqual(parseRequest(bytes(text.replace('"op"', ' "op"'))));
    }
  });
});

describe('scanSimpleResult', () => {
  it.each(RESULTS)('reads %s as JSON.parse does', (text) => {
    const scanned = scanSimpleResult(bytes(text));
    expect(scanned).toBeDefined();
    expect(scanned).toStrictEqual(JSON.parse(text));
    expect(parseServerMessage(bytes(text))).toStrictEqual(JSON.parse(text));
  });
});

describe('both scanners', () => {
  it.each(LEFT_TO_JSON_PARSE)('leave %s to JSON.parse', (text) => {
    expect(jsonValue(bytes(text))).toBeDefined();
    expect(scanRequest(bytes(text))).toBeUndefined();
    expect(scanSimpleResult(bytes(text))).toBeUndefined();
  });

  /** Every payload one edit away from `text`: each byte cut off, replaced by or preceded by a probe byte. */
  function* mutations(text: string): Generator<Buffer> {
    const original = bytes(text);
    const probes = [...'"\\,:[]{}0-.eE 9tfn'].map((c) => c.charCodeAt(0)).concat([0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xff]);
    for (let cut = 0; cut < original.length; cut++) yield original.subarray(0, cut);
    for (let i = 0; i < original.length; i++) {
      for (const probe of probes) {
        const replaced = Buffer.from(original);
        replaced[i] = probe;
        yield replaced;
        yield Buffer.concat([original.subarray(0, i), Buffer.from([probe]), original.subarray(i)]);
      }
    }
  }

  it('read every mutation of the vectors as JSON.parse does, or refuse it', () => {
    let accepted = 0;
    let refused = 0;
    for (const text of [...REQUESTS, ...RESULTS]) {
      for (const payload of mutations(text)) {
        for (const scanned of [scanRequest(payload), scanSimpleResult(payload)]) {
          if (scanned === undefined) {
            refused++;
            continue;
          }
          accepted++;
          // JSON.parse would have read it as valid UTF-8 JSON, as exactly this value.
          expect(Buffer.from(payload.toString('utf8'), 'utf8').equals(payload)).toBe(true);
          expect(scanned).toStrictEqual(jsonValue(payload));
        }
      }
    }
    // Both outcomes occurred, so neither branch of the check above is vacuous.
    expect(accepted).toBeGreaterThan(1000);
    expect(refused).toBeGreaterThan(10000);
  });
});

describe('encodeRequestFrame and encodeResultFrame', () => {
  const request = (id: Request['id'], args: unknown[], extra: Partial<Request> = {}): Request => ({ id, op: 'incr', type: 'dict', name: 'hits', args, ...extra });

  /** The frame the client writes itself for `req`, as the client decides: object operations without init. */
  function encodeRequestFrameOf(req: Request): Buffer | undefined {
    if (req.type === undefined || req.name === undefined || req.init !== undefined) return undefined;
    const target = encodeRequestTarget(req.op, req.type, req.name);
    return target === undefined ? undefined : encodeRequestFrame(req.id, target, req.args);
  }

  it.each(REQUESTS)('write %s as encodeRequest does, framed', (text) => {
    const parsed = JSON.parse(text) as Request;
    const frame = encodeRequestFrameOf(parsed);
    expect(frame?.toString('hex')).toBe(encodeFrame(encodeRequest(parsed)).toString('hex'));
    expect(frame?.subarray(4).toString()).toBe(text);
  });

  it.each(RESULTS)('write %s as encodeResult does, framed', (text) => {
    const { id, result } = JSON.parse(text) as { id: Request['id']; result: unknown };
    const frame = encodeResultFrame(id, result);
    expect(frame?.toString('hex')).toBe(encodeFrame(encodeResult(id, result)).toString('hex'));
    // The vectors are written as given, but for a repeated key and integer-like keys, which
    // JSON.parse already merged and ordered.
    if (!text.includes('"a":3') && !text.includes('"2"')) expect(frame?.subarray(4).toString()).toBe(text);
  });

  it.each([
    ['a class instance', new (class Grant { token = 't'; })()],
    ['an object with toJSON', Object.defineProperty({ a: 1 }, 'toJSON', { value: () => 'x', enumerable: false })],
    ['an object with no prototype', Object.assign(Object.create(null) as object, { a: 1 })],
    ['an undefined value', { a: undefined, b: 1 }],
    ['an undefined value after another', { a: 1, b: undefined }],
    ['a function value', { a: () => 1 }],
    ['a nested object', { a: { b: 1 } }],
    ['a fraction', { a: 1.5 }],
    ['-0', { a: -0 }],
    ['a non-ASCII key', { 'é': 1 }],
    ['a quote in a key', { 'a"b': 1 }],
    ['nine keys', { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8, i: 9 }],
    ['an array', [1, 2]],
  ])('leave a result with %s to JSON.stringify', (_what, value) => {
    expect(encodeResultFrame(1, value)).toBeUndefined();
    // And nothing of it stays behind to leak into the next object written.
    expect(encodeResultFrame(2, { k: 'v' })?.subarray(4).toString()).toBe('{"id":2,"result":{"k":"v"}}');
  });

  it('write only own keys when Object.prototype has an enumerable property, as JSON.stringify does', () => {
    (Object.prototype as Record<string, unknown>).polluted = 1;
    try {
      for (const value of [{ a: 1 }, { a: 1, b: 2, c: 3, d: 4, e: 5, f: 6, g: 7, h: 8 }]) {
        const frame = encodeResultFrame(1, value);
        if (frame !== undefined) expect(frame.toString('hex')).toBe(encodeFrame(encodeResult(1, value)).toString('hex'));
      }
      expect(encodeResultFrame(1, { a: 1 })?.subarray(4).toString()).toBe('{"id":1,"result":{"a":1}}');
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
  });

  it('reads a getter once when it writes an object, as JSON.stringify does', () => {
    let reads = 0;
    const object = Object.defineProperty({ a: 1 }, 'b', { enumerable: true, get: () => ++reads });
    expect(encodeResultFrame(1, object)?.subarray(4).toString()).toBe('{"id":1,"result":{"a":1,"b":1}}');
    expect(reads).toBe(1);
  });

  it('write a string exactly when each of its UTF-16 code units is printable ASCII other than " and \\', () => {
    // Every code unit, in an argument, a result and a name: one whose low byte is printable
    // (U+0141 "Ł" → 0x41, U+0122 → 0x22) must be refused, not written truncated.
    const wrong: string[] = [];
    for (let code = 0; code <= 0xffff; code++) {
      const text = `k${String.fromCharCode(code)}z`;
      const plain = code >= 0x20 && code <= 0x7e && code !== 0x22 && code !== 0x5c;
      const written = [
        encodeRequestFrameOf(request(1, [text])),
        encodeResultFrame(1, text),
        encodeRequestFrameOf(request(1, [], { name: text })),
      ];
      const expected = [
        encodeFrame(encodeRequest(request(1, [text]))),
        encodeFrame(encodeResult(1, text)),
        encodeFrame(encodeRequest(request(1, [], { name: text }))),
      ];
      written.forEach((frame, at) => {
        if (plain ? frame?.toString('hex') !== expected[at]!.toString('hex') : frame !== undefined) wrong.push(`U+${code.toString(16)} (#${at})`);
      });
    }
    expect(wrong).toEqual([]);
  });

  it('write strings of every representation V8 gives them alike', () => {
    const key = `c${process.pid}`;
    const forms = [
      'bench:c1:lock', // a literal
      `bench:${key}:lock`, // a concatenation
      'xxbench:c1:lockxx'.slice(2, -2), // a slice
      (JSON.parse('{"k":"bench:c1:lock"}') as { k: string }).k, // JSON.parse's
      [...new Map([[`bench:${key}:x`, 1]]).keys()][0]!, // used as a Map key (internalized)
      `caf${'é'}:${key}`, // not plain, concatenated
      'xxnaïvexx'.slice(2, -2), // not plain, sliced
    ];
    for (const text of forms) {
      const req = request(7, [text, 1]);
      const frame = encodeRequestFrameOf(req);
      if (/^[\x20-\x7e]*$/.test(text)) expect(frame?.toString('hex')).toBe(encodeFrame(encodeRequest(req)).toString('hex'));
      else expect(frame).toBeUndefined();
    }
  });

  it('writes an undefined result as null, as encodeResult does', () => {
    expect(encodeResultFrame(3, undefined)?.subarray(4).toString()).toBe('{"id":3,"result":null}');
  });

  it('writes strings longer than a few bytes, and integers at the 15-digit edge', () => {
    const long = 'x'.repeat(5000);
    for (const args of [[long], [999_999_999_999_999, -999_999_999_999_999, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER], [10, -10, 0, -1, 1]]) {
      const frame = encodeRequestFrameOf(request(77, args));
      expect(frame?.toString('hex')).toBe(encodeFrame(encodeRequest(request(77, args))).toString('hex'));
    }
  });

  it.each([
    ['a non-ASCII string', request(1, ['é'])],
    ['a string with a quote', request(1, ['a"b'])],
    ['a string with a backslash', request(1, ['a\\b'])],
    ['a control character', request(1, ['a\nb'])],
    ['DEL', request(1, ['\u007f'])],
    ['a lone surrogate', request(1, ['\ud800'])],
    ['-0', request(1, [-0])],
    ['a fraction', request(1, [1.5])],
    ['an unsafe integer', request(1, [2 ** 53])],
    ['NaN', request(1, [Number.NaN])],
    ['undefined', request(1, [undefined])],
    ['an array', request(1, [[1]])],
    ['an object', request(1, [{}])],
    ['a bigint', request(1, [1n])],
    ['a non-ASCII name', request(1, ['k'], { name: 'naïve' })],
    ['a quote in the operation', request(1, ['k'], { op: 'in"cr' })],
    ['a backslash in the type', request(1, ['k'], { type: 'di\\ct' })],
    ['a fractional id', request(1.5, ['k'])],
  ])('leave a request with %s to JSON.stringify', (_what, refused) => {
    expect(encodeRequestFrameOf(refused)).toBeUndefined();
  });

  it.each([['é'], [1.5], [[1]], [{ a: { b: 1 } }], [-0], [Number.POSITIVE_INFINITY]])('leave a result of %j to JSON.stringify', (value) => {
    expect(encodeResultFrame(1, value)).toBeUndefined();
  });

  it('write what encodeRequest writes for random scalars, or refuse', () => {
    // A fixed seed: the same cases on every run.
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const chars = ['a', 'Z', '0', ' ', '~', '"', '\\', '\n', '\u007f', 'é', '😀', '{', ']', ':', ','];
    const scalar = (): unknown => {
      const pick = Math.floor(random() * 8);
      if (pick === 0) return Array.from({ length: Math.floor(random() * 40) }, () => chars[Math.floor(random() * chars.length)]).join('');
      if (pick === 1) return Math.floor((random() - 0.5) * 2 ** Math.floor(random() * 60));
      if (pick === 2) return (random() - 0.5) * 1000;
      if (pick === 3) return random() < 0.5;
      if (pick === 4) return null;
      if (pick === 5) return 'plain-' + Math.floor(random() * 1e6);
      if (pick === 6) return -0;
      return Math.floor(random() * 1000);
    };
    let written = 0;
    let refused = 0;
    for (let i = 0; i < 5000; i++) {
      const args = Array.from({ length: Math.floor(random() * 4) }, scalar);
      const id = random() < 0.9 ? Math.floor(random() * 1e9) : String(scalar());
      const req = request(id, args);
      const frame = encodeRequestFrameOf(req);
      if (frame === undefined) refused++;
      else {
        written++;
        expect(frame.toString('hex')).toBe(encodeFrame(encodeRequest(req)).toString('hex'));
        // The reader takes integers of up to 15 digits only; what it takes, it reads back as written.
        const scanned = scanObjectRequest(frame.subarray(4), MAX_NAME_LENGTH);
        if (scanned !== undefined) expect(scanned).toStrictEqual(JSON.parse(encodeRequest(req)));
      }
      const result = scalar();
      const resultFrame = encodeResultFrame(i, result);
      if (resultFrame !== undefined) expect(resultFrame.toString('hex')).toBe(encodeFrame(encodeResult(i, result)).toString('hex'));
    }
    expect(written).toBeGreaterThan(500);
    expect(refused).toBeGreaterThan(500);
  });
});
