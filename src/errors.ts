/**
 * Every error syncmgr raises is a {@link SyncmgrError} with a stable string `code`. Codes are part of
 * the public contract (and of the wire protocol, see docs/PROTOCOL.md §6): match on `code`, never on
 * message text, which may be reworded.
 */

/** Codes a server sends in an error response. Stable; new ones may be added. */
export type RemoteErrorCode =
  | 'BAD_REQUEST'
  | 'PROTOCOL_ERROR'
  | 'FRAME_TOO_LARGE'
  | 'RESULT_TOO_LARGE'
  | 'HELLO_REQUIRED'
  | 'UNSUPPORTED_PROTOCOL'
  | 'UNKNOWN_TYPE'
  | 'UNKNOWN_METHOD'
  | 'INVALID_ARGUMENT'
  | 'WRONG_TYPE'
  | 'KEY_NOT_FOUND'
  | 'OUT_OF_RANGE'
  | 'NOT_OWNER'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'WOULD_BLOCK'
  | 'BROKEN_BARRIER'
  | 'QUEUE_EMPTY'
  | 'QUEUE_FULL'
  | 'VALUE_NOT_FOUND'
  | 'SHUTTING_DOWN'
  | 'OUT_OF_MEMORY'
  | 'TOO_MANY_OBJECTS'
  | 'INTERNAL';

/** Codes raised on the client side without a server response. */
export type LocalErrorCode =
  | 'AUTH_FAILED'
  | 'CONNECTION_CLOSED'
  | 'CONNECTION_FAILED'
  | 'TOO_MANY_CONNECTIONS'
  | 'TIMEOUT'
  | 'ABORTED'
  | 'CONFIG_ERROR'
  | 'INVALID_ARGUMENT'
  | 'DATA_DIR_LOCKED'
  | 'DATA_CORRUPT'
  | 'PERSISTENCE_FAILED';

export type ErrorCode = RemoteErrorCode | LocalErrorCode;

/** The error object as it travels in a response: `{"code": "...", "message": "..."}`. */
export interface WireError {
  code: string;
  message: string;
  details?: unknown;
}

/** Base class of every syncmgr error. */
export class SyncmgrError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.code = code;
  }

  override get name(): string {
    return this.constructor.name;
  }
}

/** The other end failed the HMAC challenge (wrong authkey), or the handshake was malformed. */
export class AuthenticationError extends SyncmgrError {
  constructor(message: string, options?: ErrorOptions) {
    super('AUTH_FAILED', message, options);
  }
}

/** The connection closed (or was never open) while a request was outstanding. */
export class ConnectionClosedError extends SyncmgrError {
  constructor(message = 'connection closed', options?: ErrorOptions) {
    super('CONNECTION_CLOSED', message, options);
  }
}

/** The server could not be reached, or refused the connection (code `TOO_MANY_CONNECTIONS`). */
export class ConnectionError extends SyncmgrError {
  constructor(code: 'CONNECTION_FAILED' | 'TOO_MANY_CONNECTIONS', message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * A call or the connect handshake did not finish in time. A timed-out request may still have been
 * applied by the server: the timeout only stops waiting for the answer.
 */
export class TimeoutError extends SyncmgrError {
  constructor(message: string, options?: ErrorOptions) {
    super('TIMEOUT', message, options);
  }
}

/** The caller's AbortSignal fired. Like a timeout, the request may still have been applied. */
export class AbortError extends SyncmgrError {
  constructor(message = 'the operation was aborted', options?: ErrorOptions) {
    super('ABORTED', message, options);
  }
}

/**
 * A request is larger than the server accepts (its `maxFrameBytes`, `serve --max-frame`). The
 * client refuses it before sending, so the connection and the other calls on it carry on; a server
 * sent such a frame would close the connection (the same code, PROTOCOL.md §8).
 */
export class FrameTooLargeError extends SyncmgrError {
  constructor(
    message: string,
    /** Size of the refused request, in bytes. */
    readonly bytes: number,
    /** The most the server accepts in one frame. */
    readonly maxBytes: number,
  ) {
    super('FRAME_TOO_LARGE', message);
  }
}

/**
 * The server refused to answer a request because its result would be larger than its frame limit
 * (`maxFrameBytes`, `serve --max-frame`; docs/PROTOCOL.md §8). Nothing was changed and the
 * connection carries on: ask for less at a time (fewer keys, a slice).
 */
export class ResultTooLargeError extends SyncmgrError {
  constructor(
    message: string,
    /** The most the server sends in one frame. */
    readonly maxBytes: number,
  ) {
    super('RESULT_TOO_LARGE', message);
  }
}

/** Options or a connection string are unusable (no authkey, bad URL...). */
export class ConfigurationError extends SyncmgrError {
  constructor(message: string, options?: ErrorOptions) {
    super('CONFIG_ERROR', message, options);
  }
}

/**
 * A value the client refused to send, because JSON would store it changed or cannot carry it
 * (undefined, NaN, a Map, a Buffer, a BigInt...): the same code the server uses for bad arguments.
 */
export class InvalidArgumentError extends SyncmgrError {
  constructor(message: string, options?: ErrorOptions) {
    super('INVALID_ARGUMENT', message, options);
  }
}

/**
 * A data directory (`serve --data-dir`, docs/PERSISTENCE.md) cannot be used: another server holds
 * it (`DATA_DIR_LOCKED`), its files are damaged (`DATA_CORRUPT`, the message names file and
 * offset), or writing to it failed (`PERSISTENCE_FAILED`).
 */
export class PersistenceError extends SyncmgrError {
  constructor(code: 'DATA_DIR_LOCKED' | 'DATA_CORRUPT' | 'PERSISTENCE_FAILED', message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/**
 * Replaying a data directory or loading a dump met a logged change or record that does not apply
 * to the state built so far: the data is damaged or out of order (code `DATA_CORRUPT`).
 */
export class ReplayError extends PersistenceError {
  constructor(message: string, options?: ErrorOptions) {
    super('DATA_CORRUPT', message, options);
  }
}

/**
 * Bytes that are not frames as docs/PROTOCOL.md §2 defines them: a negative length
 * (`PROTOCOL_ERROR`) or one over the receiver's frame limit (`FRAME_TOO_LARGE`). The connection
 * cannot carry on past one.
 */
export class FrameError extends SyncmgrError {
  declare readonly code: 'FRAME_TOO_LARGE' | 'PROTOCOL_ERROR';

  constructor(code: 'FRAME_TOO_LARGE' | 'PROTOCOL_ERROR', message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** A frame whose message cannot be served; `id` is the request's id when it could be read. */
export class MessageError extends SyncmgrError {
  declare readonly code: 'PROTOCOL_ERROR' | 'BAD_REQUEST' | 'INVALID_ARGUMENT';

  constructor(
    code: 'PROTOCOL_ERROR' | 'BAD_REQUEST' | 'INVALID_ARGUMENT',
    message: string,
    readonly id: string | number | null = null,
  ) {
    super(code, message);
  }
}

/** The server answered a request with an error; `code` is one of {@link RemoteErrorCode}. */
export class RemoteError extends SyncmgrError {
  /** Extra structured context the server attached, if any. */
  readonly details: unknown;

  constructor(code: string, message: string, details?: unknown) {
    super(code, message);
    this.details = details;
  }
}

/**
 * Server side: an operation failed in a way the client should see. Thrown by shared objects and
 * dispatch, turned into a wire error by {@link toWire}.
 */
export class OperationError extends SyncmgrError {
  readonly details: unknown;

  constructor(code: RemoteErrorCode, message: string, details?: unknown) {
    super(code, message);
    this.details = details;
  }
}

/** Server side: turns anything thrown while serving a request into the wire form. */
export function toWire(err: unknown): WireError {
  if (err instanceof OperationError) {
    return err.details === undefined
      ? { code: err.code, message: err.message }
      : { code: err.code, message: err.message, details: err.details };
  }
  // Anything else is a bug on our side; say so without leaking internals beyond the message.
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message: `internal server error: ${message}` };
}

/**
 * Client side: rebuilds a wire error as a typed error. A server-side wait that timed out (code
 * TIMEOUT) or was cancelled (ABORTED) becomes the same class as its client-side counterpart.
 */
export function fromWire(wire: unknown): SyncmgrError {
  if (wire !== null && typeof wire === 'object') {
    const { code, message, details } = wire as Partial<WireError>;
    if (code === 'TIMEOUT' && typeof message === 'string') return new TimeoutError(message);
    if (code === 'ABORTED' && typeof message === 'string') return new AbortError(message);
    if (code === 'RESULT_TOO_LARGE' && typeof message === 'string') {
      const maxBytes = (details as { maxBytes?: unknown } | undefined)?.maxBytes;
      return new ResultTooLargeError(message, typeof maxBytes === 'number' ? maxBytes : Number.NaN);
    }
    if (typeof code === 'string' && typeof message === 'string') return new RemoteError(code, message, details);
  }
  return new RemoteError('PROTOCOL_ERROR', `malformed error from server: ${JSON.stringify(wire)}`);
}
