/**
 * JSON messages carried in frames after the handshake (docs/PROTOCOL.md §4). Pure: bytes in,
 * validated values out, and back.
 *
 *   request   {"id": 7, "op": "incr", "type": "dict", "name": "counters", "args": ["hits", 1]}
 *   result    {"id": 7, "result": 8}
 *   error     {"id": 7, "error": {"code": "WRONG_TYPE", "message": "..."}}
 *   event     {"event": "shutdown", "data": {...}}     (server-initiated, no id)
 */
import { isUtf8 } from 'node:buffer';
import { MessageError, type WireError } from '../errors.js';
import { scanObjectRequest, scanSimpleResult } from './fast-path.js';
import { jsonByteLengthWithin } from './json-size.js';

export { MessageError };

/** A request id: chosen by the client, echoed in the response. */
export type RequestId = number | string;

export interface Request {
  id: RequestId;
  /** Operation name: a server op (`hello`, `ping`) or a method of the target object's type. */
  op: string;
  /** Target object type (`dict`...); absent for server ops. */
  type?: string;
  /** Target object name; present exactly when `type` is. */
  name?: string;
  /** Positional arguments. Their count matters: `pop(k)` fails on a missing key, `pop(k, null)` does not. */
  args: unknown[];
  /** Creation parameters used when the object does not exist yet (e.g. `{"parties": 4}`). */
  init?: unknown;
}

export interface ResultMessage {
  id: RequestId;
  result: unknown;
}

export interface ErrorMessage {
  id: RequestId | null;
  error: WireError;
}

export interface EventMessage {
  event: string;
  data?: unknown;
}

export type ServerMessage = ResultMessage | ErrorMessage | EventMessage;

/** Upper bound for object names, so a name is a name and not a payload. */
export const MAX_NAME_LENGTH = 1024;

/**
 * Deepest nesting of arrays and objects accepted in a request. JSON.parse copes with any depth but
 * JSON.stringify overflows the stack a few thousand levels down, so a deeper value could be stored
 * and never read back: it would make the shared object holding it unreadable for every client.
 */
export const MAX_NESTING_DEPTH = 1000;

/** {@link scanRequestText} found nesting deeper than the limit (and stopped there). */
const NESTS_TOO_DEEP = 1;
/** {@link scanRequestText} found a number that may read as ±Infinity: an exponent, or 309 digits in a row. */
const MAY_NOT_BE_FINITE = 2;
/** 1e308 has 309 digits; a number of fewer digits and no exponent is below Number.MAX_VALUE. */
const MAX_FINITE_DIGITS = 308;

/**
 * One pass over a request's text before JSON.parse, for what JSON.parse would only let us see
 * afterwards, too late: nesting deeper than `max` (JSON.parse of 10 MB of `[` builds ten million
 * arrays, a second of stall for every client, before the depth could be read on the value), and
 * numbers that may not be finite (JSON.parse reads 1e400 as Infinity, which JSON.stringify writes
 * as null: the value would change meaning on its way to the log). The second is a hint: only then
 * is the parsed value searched. Brackets and digits inside strings do not count.
 */
function scanRequestText(payload: Buffer, max: number): number {
  let found = 0;
  let depth = 0;
  let digits = 0;
  const length = payload.length;
  for (let i = 0; i < length; i++) {
    let byte = payload[i]!;
    if (byte === 0x22) {
      // To the closing quote; a backslash escapes the next byte (never a multi-byte lead).
      for (byte = payload[++i]!; byte !== 0x22 && i < length; byte = payload[++i]!) if (byte === 0x5c) i++;
      digits = 0;
    } else if (byte >= 0x30 && byte <= 0x39) {
      if (++digits > MAX_FINITE_DIGITS) found |= MAY_NOT_BE_FINITE;
    } else {
      // An e after a digit is an exponent (the e of true and false follows a letter).
      if ((byte | 0x20) === 0x65 && digits > 0) found |= MAY_NOT_BE_FINITE;
      else if (byte === 0x5b || byte === 0x7b) {
        if (++depth > max) return found | NESTS_TOO_DEEP;
      } else if (byte === 0x5d || byte === 0x7d) depth--;
      digits = 0;
    }
  }
  return found;
}

/** Whether `value` (parsed JSON, at most MAX_NESTING_DEPTH deep) holds a number that is not finite. */
function holdsNonFinite(value: unknown): boolean {
  if (typeof value === 'number') return !Number.isFinite(value);
  if (value === null || typeof value !== 'object') return false;
  for (const item of Array.isArray(value) ? value : Object.values(value)) if (holdsNonFinite(item)) return true;
  return false;
}

/**
 * The id of a request refused before it was parsed, when the text begins with it as clients
 * write it (`{"id": 7, ...`); null otherwise.
 */
function leadingRequestId(payload: Buffer): RequestId | null {
  const match = /^\{\s*"id"\s*:\s*(-?(?:0|[1-9]\d{0,14})|"[\x20\x23-\x5b\x5d-\x7e]{0,64}")\s*[,}]/.exec(payload.toString('latin1', 0, 100));
  return match === null ? null : (JSON.parse(match[1]!) as RequestId);
}

function decodeJson(payload: Buffer): unknown {
  // Buffer#toString would silently replace bad bytes with U+FFFD and change what the client sent.
  if (!isUtf8(payload)) throw new MessageError('PROTOCOL_ERROR', 'message is not valid UTF-8');
  try {
    return JSON.parse(payload.toString('utf8'));
  } catch (err) {
    throw new MessageError('PROTOCOL_ERROR', `message is not valid JSON: ${(err as Error).message}`);
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function isRequestId(value: unknown): value is RequestId {
  return (typeof value === 'number' && Number.isSafeInteger(value)) || (typeof value === 'string' && value.length <= 64);
}

/**
 * Parses and validates one request frame.
 * @throws MessageError with the request id when one could be read.
 */
export function parseRequest(payload: Buffer): Request {
  // The JavaScript client's object operations, read without JSON.parse (fast-path.ts); the rest below.
  // It reads no exponent and at most 15 digits, so what it returns holds finite numbers only.
  const scanned = scanObjectRequest(payload, MAX_NAME_LENGTH);
  if (scanned !== undefined) return scanned;
  const found = scanRequestText(payload, MAX_NESTING_DEPTH);
  if ((found & NESTS_TOO_DEEP) !== 0) {
    throw new MessageError(
      'BAD_REQUEST',
      `a request may nest arrays and objects at most ${MAX_NESTING_DEPTH} levels deep`,
      leadingRequestId(payload),
    );
  }
  const message = decodeJson(payload);
  if (!isPlainObject(message)) throw new MessageError('BAD_REQUEST', 'a request must be a JSON object');
  const { id } = message;
  if (!isRequestId(id)) {
    throw new MessageError('BAD_REQUEST', 'a request needs an "id": an integer or a string of at most 64 characters');
  }
  if ((found & MAY_NOT_BE_FINITE) !== 0 && holdsNonFinite(message)) {
    throw new MessageError(
      'INVALID_ARGUMENT',
      'a number in the request is beyond ±1.7976931348623157e308 (e.g. 1e400), which JSON.parse reads as Infinity and JSON cannot store: send finite numbers only',
      id,
    );
  }
  return validateRequest(message, id, 'a request');
}

/**
 * Validates the operations of an atomic batch (`args[0]` of an `atomic` request): each is a
 * request without an id, and must name an object.
 * @throws MessageError (BAD_REQUEST) naming the first invalid entry.
 */
export function parseBatch(value: unknown, id: RequestId): Request[] {
  if (!Array.isArray(value) || value.length === 0) {
    throw new MessageError('BAD_REQUEST', 'atomic takes one argument: a non-empty array of operations', id);
  }
  return value.map((entry, index) => {
    const what = `atomic operation #${index}`;
    if (!isPlainObject(entry)) throw new MessageError('BAD_REQUEST', `${what} must be a JSON object`, id);
    const request = validateRequest(entry, id, what);
    if (request.type === undefined) throw new MessageError('BAD_REQUEST', `${what} must name an object with "type" and "name"`, id);
    return request;
  });
}

function validateRequest(message: Record<string, unknown>, id: RequestId, what: string): Request {
  const { op, type, name, args, init } = message;
  if (typeof op !== 'string' || op.length === 0) {
    throw new MessageError('BAD_REQUEST', `${what} needs an "op": a non-empty string`, id);
  }
  if (args !== undefined && !Array.isArray(args)) {
    throw new MessageError('BAD_REQUEST', `${what}: "args" must be an array when present`, id);
  }
  if (type === undefined && name === undefined) return { id, op, args: args ?? [] };
  if (typeof type !== 'string' || type.length === 0) {
    throw new MessageError('BAD_REQUEST', `${what}: "type" must be a non-empty string when "name" is given`, id);
  }
  if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) {
    throw new MessageError('BAD_REQUEST', `${what}: "name" must be a string of 1 to ${MAX_NAME_LENGTH} characters`, id);
  }
  if (init !== undefined && !isPlainObject(init)) {
    throw new MessageError('BAD_REQUEST', `${what}: "init" must be an object when present`, id);
  }
  return init === undefined ? { id, op, type, name, args: args ?? [] } : { id, op, type, name, args: args ?? [], init };
}

/** Serializes a request (client side). Absent fields are left out. */
export function encodeRequest(request: Request): string {
  // One literal with a fixed shape: JSON.stringify skips the undefined fields, and V8 keeps this
  // path monomorphic, which a spread of varying shapes would not.
  return JSON.stringify({
    id: request.id,
    op: request.op,
    type: request.type,
    name: request.name,
    args: request.args,
    init: request.init,
  });
}

export function encodeResult(id: RequestId, result: unknown): string {
  return JSON.stringify({ id, result: result === undefined ? null : result });
}

/**
 * {@link encodeResult}, or undefined when the result would be longer than `maxBytes` as JSON:
 * measured first (json-size.ts), so an oversized result is never built. The limit is on the result
 * alone, not its envelope and id: a value taken from an object (pop, get) arrived inside a request
 * no longer than `maxBytes`, envelope included, and must always be given back, whatever the id of
 * the request that takes it.
 */
export function encodeResultWithin(id: RequestId, result: unknown, maxBytes: number): string | undefined {
  if (jsonByteLengthWithin(result, maxBytes) < 0) return undefined;
  return encodeResult(id, result);
}

export function encodeError(id: RequestId | null, error: WireError): string {
  return JSON.stringify({ id, error });
}

export function encodeEvent(event: string, data?: unknown): string {
  return JSON.stringify(data === undefined ? { event } : { event, data });
}

/**
 * Parses one server frame (client side).
 * @throws MessageError if it is not a response or an event.
 */
export function parseServerMessage(payload: Buffer): ServerMessage {
  // Scalar and flat-object results (incr, get of a number, a lock grant...), read without
  // JSON.parse (fast-path.ts); the rest below.
  const scanned = scanSimpleResult(payload);
  if (scanned !== undefined) return scanned;
  const message = decodeJson(payload);
  if (!isPlainObject(message)) throw new MessageError('PROTOCOL_ERROR', 'server message is not a JSON object');
  if (typeof message.event === 'string') return message as unknown as EventMessage;
  const { id } = message;
  if (id !== null && !isRequestId(id)) throw new MessageError('PROTOCOL_ERROR', 'server message has no valid "id"');
  if ('error' in message) return message as unknown as ErrorMessage;
  if ('result' in message && id !== null) return message as unknown as ResultMessage;
  throw new MessageError('PROTOCOL_ERROR', 'server message is neither a result, an error nor an event');
}
