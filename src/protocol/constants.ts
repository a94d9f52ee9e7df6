/** Wire-level constants. docs/PROTOCOL.md is the normative description of each. */

/** Major protocol version sent in hello. A server refuses a hello with a different major. */
export const PROTOCOL_VERSION = 1;

export const DEFAULT_PORT = 50000;
export const DEFAULT_HOST = '127.0.0.1';

/** Default maximum payload of one frame after the handshake (16 MiB). */
export const DEFAULT_MAX_FRAME_BYTES = 16 * 1024 * 1024;

/** Every handshake frame is capped at this payload size, as in CPython's `connection.py`. */
export const HANDSHAKE_MAX_FRAME_BYTES = 256;

/** Milliseconds a peer has to complete the whole handshake. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** Handshake tags, byte-identical to CPython's `multiprocessing.connection`. */
export const CHALLENGE = Buffer.from('#CHALLENGE#', 'latin1');
export const WELCOME = Buffer.from('#WELCOME#', 'latin1');
export const FAILURE = Buffer.from('#FAILURE#', 'latin1');
/** syncmgr's own addition: sent instead of a challenge when the server is at --max-connections. */
export const REFUSED = Buffer.from('#REFUSED#', 'latin1');

/** Random bytes in a challenge, after the `{sha256}` prefix (CPython 3.12+ uses 40). */
export const CHALLENGE_RANDOM_BYTES = 40;

/** First payload byte of the first post-handshake frame selects the message dialect. */
export const FIRST_BYTE_JSON = 0x7b; // '{'
export const FIRST_BYTE_PICKLE = 0x80; // pickle PROTO opcode: CPython manager clients (later issue)
