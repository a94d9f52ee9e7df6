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
import type { WireError } from '../errors.js';
import { scanObjectRequest, scanSimpleResult } from './fast-path.js';
import { jsonByteLengthWithin } from './json-size.js';

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

/** A message that cannot be served; `id` is the request's id when it could be read. */
export class MessageError extends Error {
  constructor(
    readonly code: 'PROTOCOL_ERROR' | 'BAD_REQUEST',
    message: string,
    readonly id: RequestId | null = null,
  ) {
    super(message);
  }
}

/** Upper bound for object names, so a name is a name and not a payload. */
export const MAX_NAME_LENGTH = 1024;

/**
 * Deepest nesting of arrays and objects accepted in a request. JSON.parse copes with any depth but
 * JSON.stringify overflows the stack a few thousand levels down, so a deeper value could be stored
 * and never read back: it would make the shared object holding it unreadable for every client.
 */
export const MAX_NESTING_DEPTH = 1000;

/** Whether valid JSON text `payload` nests arrays/objects more than `max` levels deep. */
function nestsDeeperThan(payload: Buffer, max: number): boolean {
  // Nesting deeper than max takes more than max opening and as many closing brackets.
  if (payload.length <= 2 * max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < payload.length; i++) {
    const byte = payload[i];
    if (inString) {
      if (byte === 0x5c) i++; // backslash: the next byte is escaped (never a multi-byte lead)
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > max) return true;
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--;
    }
  }
  return false;
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
  const scanned = scanObjectRequest(payload, MAX_NAME_LENGTH);
  if (scanned !== undefined) return scanned;
  const message = decodeJson(payload);
  if (!isPlainObject(message)) throw new MessageError('BAD_REQUEST', 'a request must be a JSON object');
  const { id } = message;
  if (!isRequestId(id)) {
    throw new MessageError('BAD_REQUEST', 'a request needs an "id": an integer or a string of at most 64 characters');
  }
  if (nestsDeeperThan(payload, MAX_NESTING_DEPTH)) {
    throw new MessageError('BAD_REQUEST', `a request may nest arrays and objects at most ${MAX_NESTING_DEPTH} levels deep`, id);
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

/** Bytes of a result message besides its id and result: `{"id":` `,"result":` `}`. */
const RESULT_ENVELOPE_BYTES = 17;

/**
 * {@link encodeResult}, or undefined when the message would be longer than `maxBytes`: measured
 * first (json-size.ts), so an oversized result is never built.
 */
export function encodeResultWithin(id: RequestId, result: unknown, maxBytes: number): string | undefined {
  const idBytes = jsonByteLengthWithin(id, maxBytes);
  if (idBytes < 0 || jsonByteLengthWithin(result, maxBytes - RESULT_ENVELOPE_BYTES - idBytes) < 0) return undefined;
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
