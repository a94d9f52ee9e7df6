/**
 * The commonest messages, read and written byte by byte instead of through JSON.parse and
 * JSON.stringify. Pure.
 *
 *   request   {"id":7,"op":"incr","type":"dict","name":"hits","args":["k",1]}
 *   result    {"id":7,"result":8}
 *   result    {"id":9,"result":{"token":"f3Tq...","fence":12,"depth":1}}   (a flat object: a lock grant)
 *
 * Readers give up (return undefined) at the first byte that is not the exact shape they read:
 * whitespace, another key order, an escape, a non-ASCII byte, a fraction or an exponent, a nested
 * value, anything. The caller then parses the message with JSON.parse and validates it as before,
 * so the readers change how fast a message is read, never what it means nor which error it gets.
 * What they accept is valid JSON that JSON.parse reads as the same value: strings of printable
 * ASCII other than `"` and `\`, integers of at most 15 digits (always exact), `true`, `false` and
 * `null`. Writers take the same values and write what JSON.stringify would, byte for byte, as a
 * whole frame; for any other value they return undefined and the caller uses JSON.stringify.
 *
 * Why: JSON.parse of a request and JSON.stringify of it were each a large share of the work per
 * request at both ends (bench/NOTES.md, instructions per request).
 */
// Buffer imported rather than the global, which is a getter called on every use.
import { Buffer } from 'node:buffer';
import type { Request, RequestId, ResultMessage } from './message.js';
import { allocateFrame } from './frame.js';

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const MINUS = 0x2d;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;

/** More digits than this could lose precision (2^53 has 16); such numbers go to JSON.parse. */
const MAX_INTEGER_DIGITS = 15;
/** A request id may be a string of at most this many characters (message.ts isRequestId). */
const MAX_ID_STRING_LENGTH = 64;
/** Results that are objects are read and written here when they have at most this many keys. */
const MAX_FLAT_KEYS = 8;
/** Strings up to this length are looked up in {@link RecentStrings}. */
const CACHED_STRING_LENGTH = 32;

/** `"id":` and the other keys, as bytes, with the quotes and the colon. */
const KEY_ID = keyBytes('id');
const KEY_OP = keyBytes('op');
const KEY_TYPE = keyBytes('type');
const KEY_NAME = keyBytes('name');
const KEY_ARGS = keyBytes('args');
const KEY_RESULT = keyBytes('result');

function keyBytes(key: string): Buffer {
  return latin1(`"${key}":`);
}

/** The literals, as bytes. */
const TRUE = latin1('true');
const FALSE = latin1('false');
const NULL = latin1('null');

function latin1(text: string): Buffer {
  return Buffer.from(text, 'latin1');
}

/**
 * String.prototype.charCodeAt, called as `charCodeAt.call(text, i)` rather than `text.charCodeAt(i)`.
 * The strings written and compared here come in several representations (literals,
 * concatenations, slices, JSON.parse's, Map keys V8 has internalized), and V8 compiled the lookup
 * of `text.charCodeAt` in such a loop into a generic property load per character
 * (`Builtins_LoadIC`), a fifth of the client's work in a locked read-modify-write. Called this
 * way, the loop looks up nothing on the string. RecentStrings compares its cached strings this
 * way too (bench/NOTES.md, string writes).
 */
const charCodeAt = String.prototype.charCodeAt;

/** Failure marker of the value readers (a value itself can be undefined only here). */
const NONE = Symbol('none');

/**
 * Short strings read recently, by a hash of their bytes. The same operation, type, object name
 * or key read again is then the same string, as JSON.parse's internalized strings are: no new
 * string, its hash computed once, and Map lookups that find it by identity. Without it, building
 * and hashing a new string per field cost more than JSON.parse.
 */
class RecentStrings {
  private static readonly SLOTS = 256;
  private readonly slots: string[] = new Array<string>(RecentStrings.SLOTS).fill('');

  /** The string of printable ASCII `bytes[start, end)`, whose hash {@link hashByte} made `hash`. */
  get(bytes: Buffer, start: number, end: number, hash: number): string {
    const length = end - start;
    if (length > CACHED_STRING_LENGTH) return bytes.toString('latin1', start, end);
    const slot = hash & (RecentStrings.SLOTS - 1);
    const cached = this.slots[slot]!;
    if (cached.length === length) {
      let i = 0;
      while (i < length && charCodeAt.call(cached, i) === bytes[start + i]) i++;
      if (i === length) return cached;
    }
    const text = bytes.toString('latin1', start, end);
    this.slots[slot] = text;
    return text;
  }

  static hashByte(hash: number, byte: number): number {
    return (Math.imul(hash, 31) + byte) | 0;
  }
}

const EMPTY = Buffer.alloc(0);

/**
 * Reads values at a position in one message. A single instance serves every message: the
 * scanners run to completion without yielding, and a fresh reader (or a returned position and
 * value pair) per message or value would be garbage on the hot path.
 */
class MessageReader {
  private bytes: Buffer = EMPTY;
  private at = 0;
  private readonly strings = new RecentStrings();

  start(bytes: Buffer): void {
    this.bytes = bytes;
    this.at = 0;
  }

  /** Whether the whole message has been read. */
  get atEnd(): boolean {
    return this.at === this.bytes.length;
  }

  /** Skips `expected` (a key such as `"op":`, or a literal); false if the bytes here are anything else. */
  skipBytes(expected: Buffer): boolean {
    const { bytes, at } = this;
    if (at + expected.length > bytes.length) return false;
    for (let i = 0; i < expected.length; i++) if (bytes[at + i] !== expected[i]) return false;
    this.at = at + expected.length;
    return true;
  }

  atByte(byte: number): boolean {
    return this.bytes[this.at] === byte;
  }

  skipByte(byte: number): boolean {
    if (this.bytes[this.at] !== byte) return false;
    this.at++;
    return true;
  }

  /** A string of printable ASCII without escapes, the position on its opening quote. */
  readString(): string | typeof NONE {
    const bytes = this.bytes;
    const start = this.at + 1;
    let end = start;
    let hash = 0;
    for (;;) {
      const byte = bytes[end];
      if (byte === undefined || byte < 0x20 || byte > 0x7e || byte === BACKSLASH) return NONE;
      if (byte === QUOTE) break;
      hash = RecentStrings.hashByte(hash, byte);
      end++;
    }
    this.at = end + 1;
    return this.strings.get(bytes, start, end, hash);
  }

  /** A non-empty string. */
  readName(): string | typeof NONE {
    if (this.bytes[this.at] !== QUOTE || this.bytes[this.at + 1] === QUOTE) return NONE;
    return this.readString();
  }

  /** An integer without fraction or exponent, of at most 15 digits. `-0` is left to JSON.parse. */
  readInteger(): number | typeof NONE {
    const bytes = this.bytes;
    const negative = bytes[this.at] === MINUS;
    const start = negative ? this.at + 1 : this.at;
    let end = start;
    let value = 0;
    for (;;) {
      const byte = bytes[end];
      if (byte === undefined || byte < DIGIT_0 || byte > DIGIT_9) break;
      value = value * 10 + (byte - DIGIT_0);
      end++;
    }
    const digits = end - start;
    // JSON forbids leading zeros; "-0", fractions and exponents are JSON.parse's.
    if (digits === 0 || digits > MAX_INTEGER_DIGITS || (bytes[start] === DIGIT_0 && (digits > 1 || negative))) return NONE;
    const next = bytes[end];
    if (next === 0x2e || next === 0x65 || next === 0x45) return NONE;
    this.at = end;
    return negative ? -value : value;
  }

  /** A scalar: a string, an integer, true, false or null. */
  readScalar(): unknown {
    const byte = this.bytes[this.at];
    if (byte === QUOTE) return this.readString();
    if (byte === MINUS || (byte !== undefined && byte >= DIGIT_0 && byte <= DIGIT_9)) return this.readInteger();
    if (byte === 0x74) return this.skipBytes(TRUE) ? true : NONE;
    if (byte === 0x66) return this.skipBytes(FALSE) ? false : NONE;
    if (byte === 0x6e) return this.skipBytes(NULL) ? null : NONE;
    return NONE;
  }

  /**
   * An object of at most {@link MAX_FLAT_KEYS} keys whose values are scalars, the position on its
   * `{`. A `__proto__` key is left to JSON.parse, which makes it an own property where an
   * assignment would set the prototype.
   */
  readFlatObject(): Record<string, unknown> | typeof NONE {
    if (!this.skipByte(OPEN_BRACE)) return NONE;
    const object: Record<string, unknown> = {};
    if (this.skipByte(CLOSE_BRACE)) return object;
    for (let keys = 0; keys < MAX_FLAT_KEYS; keys++) {
      if (!this.atByte(QUOTE)) return NONE;
      const key = this.readString();
      if (key === NONE || key === '__proto__' || !this.skipByte(COLON)) return NONE;
      const value = this.readScalar();
      if (value === NONE) return NONE;
      // A repeated key keeps its first place and takes the last value, as in JSON.parse.
      object[key] = value;
      if (this.skipByte(CLOSE_BRACE)) return object;
      if (!this.skipByte(COMMA)) return NONE;
    }
    return NONE;
  }

  /** An array of scalars, the position on its `[`. */
  readScalarArray(): unknown[] | typeof NONE {
    if (!this.skipByte(OPEN_BRACKET)) return NONE;
    const values: unknown[] = [];
    if (this.skipByte(CLOSE_BRACKET)) return values;
    for (;;) {
      const value = this.readScalar();
      if (value === NONE) return NONE;
      values.push(value);
      if (this.skipByte(CLOSE_BRACKET)) return values;
      if (!this.skipByte(COMMA)) return NONE;
    }
  }

  /** A request id: an integer, or a string of at most 64 characters. */
  readId(): RequestId | typeof NONE {
    if (this.bytes[this.at] === QUOTE) {
      const id = this.readString();
      return id !== NONE && id.length <= MAX_ID_STRING_LENGTH ? id : NONE;
    }
    return this.readInteger();
  }

  /** Lets go of the message, so the reader does not keep its buffer alive. */
  finish(): void {
    this.bytes = EMPTY;
  }
}

const reader = new MessageReader();

/**
 * `{"id":ID,"op":"OP","type":"TYPE","name":"NAME","args":[SCALARS]}` exactly, as the JavaScript
 * client writes an object operation; undefined for anything else. What it returns passes the
 * checks of message.ts's validateRequest: op, type and name are non-empty, and a name longer than
 * `maxNameLength` is left to the general path, which rejects it.
 */
export function scanObjectRequest(bytes: Buffer, maxNameLength: number): Request | undefined {
  reader.start(bytes);
  const request = readObjectRequest(maxNameLength);
  reader.finish();
  return request;
}

function readObjectRequest(maxNameLength: number): Request | undefined {
  if (!reader.skipByte(OPEN_BRACE) || !reader.skipBytes(KEY_ID)) return undefined;
  const id = reader.readId();
  if (id === NONE || !reader.skipByte(COMMA) || !reader.skipBytes(KEY_OP)) return undefined;
  const op = reader.readName();
  if (op === NONE || !reader.skipByte(COMMA) || !reader.skipBytes(KEY_TYPE)) return undefined;
  const type = reader.readName();
  if (type === NONE || !reader.skipByte(COMMA) || !reader.skipBytes(KEY_NAME)) return undefined;
  const name = reader.readName();
  if (name === NONE || name.length > maxNameLength || !reader.skipByte(COMMA) || !reader.skipBytes(KEY_ARGS)) return undefined;
  const args = reader.readScalarArray();
  if (args === NONE || !reader.skipByte(CLOSE_BRACE) || !reader.atEnd) return undefined;
  return { id, op, type, name, args };
}

/**
 * `{"id":ID,"result":VALUE}` exactly, VALUE a scalar or a flat object (as the server writes them);
 * undefined for anything else (errors, events, arrays, nested objects, fractions...).
 */
export function scanSimpleResult(bytes: Buffer): ResultMessage | undefined {
  reader.start(bytes);
  const result = readSimpleResult();
  reader.finish();
  return result;
}

function readSimpleResult(): ResultMessage | undefined {
  if (!reader.skipByte(OPEN_BRACE) || !reader.skipBytes(KEY_ID)) return undefined;
  const id = reader.readId();
  if (id === NONE || !reader.skipByte(COMMA) || !reader.skipBytes(KEY_RESULT)) return undefined;
  const result = reader.atByte(OPEN_BRACE) ? reader.readFlatObject() : reader.readScalar();
  if (result === NONE || !reader.skipByte(CLOSE_BRACE) || !reader.atEnd) return undefined;
  return { id, result };
}

/** Longer strings are written by Buffer#write (one native call) rather than char by char. */
const SHORT_WRITE_LENGTH = 32;

/** The text around the values: `{"id":` ID `,"op":"` OP ... `","args":[` ARGS `]}`. */
const REQUEST_PARTS = ['{"id":', ',"op":"', '","type":"', '","name":"', '","args":[', ']}'] as const;
/** How requests and results begin. */
const ID_OPEN = latin1(REQUEST_PARTS[0]);
const REQUEST_CLOSE = latin1(REQUEST_PARTS[5]);
/** `{"id":` ID `,"result":` RESULT `}`. */
const RESULT_MIDDLE = latin1(',"result":');
const RESULT_CLOSE = latin1('}');
const RESULT_FIXED_BYTES = ID_OPEN.length + RESULT_MIDDLE.length + RESULT_CLOSE.length;

/** Whether JSON.stringify writes `text` as is between quotes: printable ASCII, no `"` or `\`. */
function isPlainText(text: string): boolean {
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const code = charCodeAt.call(text, i);
    if (code < 0x20 || code > 0x7e || code === QUOTE || code === BACKSLASH) return false;
  }
  return true;
}

/** Decimal digits of safe integer `value` (a sign counts as one), as JSON.stringify writes it. */
function integerLength(value: number): number {
  const magnitude = Math.abs(value);
  let length = value < 0 ? 2 : 1;
  // Powers of ten are exact doubles up to 1e22, past any safe integer.
  for (let power = 10; power <= magnitude; power *= 10) length++;
  return length;
}

/**
 * Bytes JSON.stringify writes for `value` when it is a scalar this writer handles (plain text,
 * a safe integer other than -0, true, false, null); -1 for anything else.
 */
function scalarLength(value: unknown): number {
  switch (typeof value) {
    case 'string':
      return isPlainText(value) ? value.length + 2 : -1;
    case 'number':
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? integerLength(value) : -1;
    case 'boolean':
      return value ? 4 : 5;
    case 'object':
      return value === null ? 4 : -1;
    default:
      return -1;
  }
}

/** Copies the few bytes of a fixed part (`{"id":`, `true`...). */
function writeBytes(frame: Buffer, offset: number, bytes: Buffer): number {
  for (let i = 0; i < bytes.length; i++) frame[offset + i] = bytes[i]!;
  return offset + bytes.length;
}

/** Writes safe integer `value` (not -0). */
function writeInteger(frame: Buffer, offset: number, value: number): number {
  const end = offset + integerLength(value);
  if (value < 0) frame[offset] = MINUS;
  let rest = Math.abs(value);
  let i = end;
  // Digits from the last; in 32-bit integer arithmetic once the rest fits, which V8 compiles to
  // a multiplication rather than a floating-point division per digit.
  while (rest > 0x7fffffff) {
    const quotient = Math.floor(rest / 10);
    frame[--i] = DIGIT_0 + (rest - quotient * 10);
    rest = quotient;
  }
  let small = rest | 0;
  do {
    const quotient = (small / 10) | 0;
    frame[--i] = DIGIT_0 + (small - quotient * 10);
    small = quotient;
  } while (small !== 0);
  return end;
}

/** Writes a scalar that {@link scalarLength} accepted. */
function writeScalar(frame: Buffer, offset: number, value: unknown): number {
  if (typeof value === 'string') {
    frame[offset] = QUOTE;
    // Plain text (scalarLength checked): one byte per character.
    const length = value.length;
    offset++;
    if (length > SHORT_WRITE_LENGTH) frame.write(value, offset, length, 'latin1');
    else for (let i = 0; i < length; i++) frame[offset + i] = charCodeAt.call(value, i);
    offset += length;
    frame[offset] = QUOTE;
    return offset + 1;
  }
  if (typeof value === 'number') return writeInteger(frame, offset, value);
  return writeBytes(frame, offset, value === null ? NULL : value ? TRUE : FALSE);
}

/**
 * The bytes of a request between its id and its arguments, `,"op":"OP","type":"TYPE","name":"NAME","args":[`,
 * when op, type and name are plain text; undefined otherwise. A proxy encodes this once per
 * operation and hands it to {@link encodeRequestFrame} with every request.
 */
export function encodeRequestTarget(op: string, type: string, name: string): Buffer | undefined {
  if (!isPlainText(op) || !isPlainText(type) || !isPlainText(name)) return undefined;
  return Buffer.from(`${REQUEST_PARTS[1]}${op}${REQUEST_PARTS[2]}${type}${REQUEST_PARTS[3]}${name}${REQUEST_PARTS[4]}`, 'latin1');
}

/**
 * The whole frame (header and payload) of the request with this id, target (from
 * {@link encodeRequestTarget}) and args and no `init`: byte for byte what message.ts's
 * encodeRequest writes, when the id and args are scalars this writer handles; undefined otherwise.
 */
export function encodeRequestFrame(id: RequestId, target: Buffer, args: readonly unknown[]): Buffer | undefined {
  const idLength = scalarLength(id);
  if (idLength < 0) return undefined;
  let length = ID_OPEN.length + idLength + target.length + REQUEST_CLOSE.length;
  for (let i = 0; i < args.length; i++) {
    const argLength = scalarLength(args[i]);
    if (argLength < 0) return undefined;
    length += argLength + (i > 0 ? 1 : 0);
  }
  const frame = allocateFrame(length);
  let offset = writeBytes(frame, frame.length - length, ID_OPEN);
  offset = writeScalar(frame, offset, id);
  frame.set(target, offset);
  offset += target.length;
  for (let i = 0; i < args.length; i++) {
    if (i > 0) frame[offset++] = COMMA;
    offset = writeScalar(frame, offset, args[i]);
  }
  writeBytes(frame, offset, REQUEST_CLOSE);
  return frame;
}

/** The values of the object being written, read once (a getter runs once, as in JSON.stringify). */
const flatValues: unknown[] = [];

/**
 * The keys of `object` when it may be written as a flat object: a plain object (prototype
 * Object.prototype, no toJSON) of at most {@link MAX_FLAT_KEYS} keys; undefined otherwise.
 */
function flatObjectKeys(object: object): string[] | undefined {
  if (Object.getPrototypeOf(object) !== Object.prototype || (object as { toJSON?: unknown }).toJSON !== undefined) return undefined;
  // Counted first, stopping past the limit, so that a large object (a document stored in a dict)
  // is not listed in full here and again by JSON.stringify. An enumerable property someone added
  // to Object.prototype only counts against the object.
  let count = 0;
  for (const _key in object) if (++count > MAX_FLAT_KEYS) return undefined;
  return Object.keys(object);
}

/**
 * Bytes JSON.stringify writes for `object`, whose `keys` {@link flatObjectKeys} gave, when every
 * key is plain text and every value a scalar this writer handles (then the values are in
 * {@link flatValues}); -1 otherwise.
 */
function flatObjectLength(object: object, keys: readonly string[]): number {
  // The braces, and a comma between entries.
  let length = keys.length === 0 ? 2 : keys.length + 1;
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const value = (object as Record<string, unknown>)[key];
    const valueLength = scalarLength(value);
    if (valueLength < 0 || !isPlainText(key)) return -1;
    flatValues[i] = value;
    // The key's quotes and the colon.
    length += key.length + 3 + valueLength;
  }
  return length;
}

/** Writes the object whose `keys` and values {@link flatObjectLength} measured. */
function writeFlatObject(frame: Buffer, offset: number, keys: readonly string[]): number {
  frame[offset++] = OPEN_BRACE;
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) frame[offset++] = COMMA;
    offset = writeScalar(frame, offset, keys[i]);
    frame[offset++] = COLON;
    offset = writeScalar(frame, offset, flatValues[i]);
  }
  frame[offset] = CLOSE_BRACE;
  flatValues.length = 0;
  return offset + 1;
}

/**
 * The whole frame of a result, byte for byte what message.ts's encodeResult writes, when the id is
 * a scalar and the result a scalar or a flat object (a lock grant...) this writer handles and
 * the result is at most `maxPayloadBytes` bytes; undefined for anything else.
 */
export function encodeResultFrame(id: RequestId, result: unknown, maxPayloadBytes = Infinity): Buffer | undefined {
  const idLength = scalarLength(id);
  if (idLength < 0) return undefined;
  const keys = typeof result === 'object' && result !== null ? flatObjectKeys(result) : undefined;
  const resultLength = keys !== undefined ? flatObjectLength(result as object, keys) : result === undefined ? 4 : scalarLength(result);
  // The result alone is held to the limit, as encodeResultWithin does (message.ts says why).
  if (resultLength < 0 || resultLength > maxPayloadBytes) {
    flatValues.length = 0;
    return undefined;
  }
  const length = RESULT_FIXED_BYTES + idLength + resultLength;
  const frame = allocateFrame(length);
  let offset = writeBytes(frame, frame.length - length, ID_OPEN);
  offset = writeScalar(frame, offset, id);
  offset = writeBytes(frame, offset, RESULT_MIDDLE);
  offset = keys !== undefined ? writeFlatObject(frame, offset, keys) : writeScalar(frame, offset, result === undefined ? null : result);
  writeBytes(frame, offset, RESULT_CLOSE);
  return frame;
}
