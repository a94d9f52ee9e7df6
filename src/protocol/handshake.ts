/**
 * Mutual HMAC challenge-response, byte-identical to CPython 3.12+'s `multiprocessing.connection`
 * (`deliver_challenge` / `answer_challenge`). The authkey itself never crosses the wire.
 *
 * Server: deliver a challenge (authenticates the client), then answer the client's (authenticates
 * the server). Client: the same two steps in the other order.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { AuthenticationError, ConnectionError } from '../errors.js';
import { CHALLENGE, CHALLENGE_RANDOM_BYTES, FAILURE, REFUSED, WELCOME } from './constants.js';

/** What the handshake needs of a transport: send one frame, receive the next one. */
export interface FrameIO {
  send(payload: Buffer): void;
  /** Resolves with the next frame; rejects if the connection closes first. */
  receive(): Promise<Buffer>;
}

export interface HandshakeOptions {
  /**
   * Accept a raw 16-byte HMAC-MD5 answer, as CPython ≤ 3.11 peers send. Off until the Python
   * interop work turns it on for pickle clients; the answering side already handles legacy
   * challenges, which costs nothing in security (we only prove we know the key).
   */
  acceptLegacyMd5?: boolean;
}

/** Digest names CPython 3.12+ allows in `{name}` prefixes, mapped to node:crypto's names. */
const DIGESTS: ReadonlyMap<string, string> = new Map([
  ['md5', 'md5'],
  ['sha256', 'sha256'],
  ['sha384', 'sha384'],
  ['sha3_256', 'sha3-256'],
  ['sha3_384', 'sha3-384'],
]);

/** The digest we announce, as CPython 3.12+ does. */
const OUR_DIGEST = 'sha256';
const LEGACY_LENGTHS = new Set([16, 20]);
const MAX_DIGEST_NAME_BYTES = 20;
/** CPython 3.12+ refuses to answer a challenge shorter than a legacy one. */
const MIN_CHALLENGE_BYTES = 20;

/** The bytes after `#CHALLENGE#`: `{sha256}` followed by `random` (40 random bytes by default). */
export function createChallengeMessage(random: Buffer = randomBytes(CHALLENGE_RANDOM_BYTES)): Buffer {
  return Buffer.concat([Buffer.from(`{${OUR_DIGEST}}`, 'latin1'), random]);
}

/**
 * Splits `{name}payload`; returns undefined when there is no well-formed prefix, following
 * CPython's `_get_digest_name_and_payload` (names of at most 20 bytes, from an allow-list).
 */
function splitDigestPrefix(message: Buffer): { name: string; payload: Buffer } | undefined {
  if (message[0] !== 0x7b) return undefined; // '{'
  const end = message.indexOf(0x7d, 1); // '}'
  if (end < 0 || end > MAX_DIGEST_NAME_BYTES + 1) return undefined;
  const name = message.subarray(1, end).toString('latin1');
  if (!DIGESTS.has(name)) return undefined;
  return { name, payload: message.subarray(end + 1) };
}

function hmac(digest: string, authkey: Buffer, data: Buffer): Buffer {
  return createHmac(DIGESTS.get(digest)!, authkey).update(data).digest();
}

/**
 * The answer to challenge message `message` (the bytes after `#CHALLENGE#`): for a prefixed
 * message, `{name}` + HMAC-name(authkey, whole message including the prefix); for a legacy 16- or
 * 20-byte message, raw HMAC-MD5.
 * @throws AuthenticationError if the message is neither.
 */
export function computeAnswer(authkey: Buffer, message: Buffer): Buffer {
  if (message.length < MIN_CHALLENGE_BYTES) {
    throw new AuthenticationError(`challenge too short: ${message.length} bytes`);
  }
  if (LEGACY_LENGTHS.has(message.length)) return hmac('md5', authkey, message);
  const prefixed = splitDigestPrefix(message);
  if (prefixed === undefined) {
    throw new AuthenticationError('the peer sent a malformed challenge (not a CPython 3.12+ or legacy challenge)');
  }
  return Buffer.concat([Buffer.from(`{${prefixed.name}}`, 'latin1'), hmac(prefixed.name, authkey, message)]);
}

/** Whether `answer` proves knowledge of `authkey` for our challenge `message`. Constant-time. */
export function verifyAnswer(
  authkey: Buffer,
  message: Buffer,
  answer: Buffer,
  options: HandshakeOptions = {},
): boolean {
  let expected: Buffer;
  let mac: Buffer;
  if (answer.length === 16 || answer.length === 20) {
    if (!options.acceptLegacyMd5) return false;
    expected = hmac('md5', authkey, message);
    mac = answer;
  } else {
    const prefixed = splitDigestPrefix(answer);
    if (prefixed === undefined) return false;
    if (prefixed.name === 'md5' && !options.acceptLegacyMd5) return false;
    expected = hmac(prefixed.name, authkey, message);
    mac = prefixed.payload;
  }
  return mac.length === expected.length && timingSafeEqual(mac, expected);
}

function startsWith(buffer: Buffer, prefix: Buffer): boolean {
  return buffer.length >= prefix.length && buffer.subarray(0, prefix.length).equals(prefix);
}

/** Sends a challenge and checks the peer's answer; tells the peer the verdict. */
export async function deliverChallenge(io: FrameIO, authkey: Buffer, options: HandshakeOptions = {}): Promise<void> {
  const message = createChallengeMessage();
  io.send(Buffer.concat([CHALLENGE, message]));
  const answer = await io.receive();
  if (verifyAnswer(authkey, message, answer, options)) {
    io.send(WELCOME);
    return;
  }
  io.send(FAILURE);
  throw new AuthenticationError('digest received was wrong: the peer does not know the authkey');
}

/** Answers the peer's challenge and reads its verdict. */
export async function answerChallenge(io: FrameIO, authkey: Buffer): Promise<void> {
  const frame = await io.receive();
  if (startsWith(frame, REFUSED)) {
    const reason = frame.subarray(REFUSED.length).toString('utf8') || 'connection refused by server';
    throw new ConnectionError('TOO_MANY_CONNECTIONS', reason);
  }
  if (!startsWith(frame, CHALLENGE)) {
    throw new AuthenticationError('the peer did not send a challenge: is it a syncmgr or multiprocessing server?');
  }
  io.send(computeAnswer(authkey, frame.subarray(CHALLENGE.length)));
  const verdict = await io.receive();
  if (!verdict.equals(WELCOME)) {
    throw new AuthenticationError('digest sent was rejected: the authkey is wrong');
  }
}

/**
 * Server side of the handshake: authenticates the client, then proves itself. `clientProven` is
 * called in between, once the client has shown it knows the key.
 */
export async function serverHandshake(io: FrameIO, authkey: Buffer, options: HandshakeOptions = {}, clientProven?: () => void): Promise<void> {
  await deliverChallenge(io, authkey, options);
  clientProven?.();
  await answerChallenge(io, authkey);
}

/** Client side of the handshake: proves itself, then authenticates the server. */
export async function clientHandshake(io: FrameIO, authkey: Buffer, options: HandshakeOptions = {}): Promise<void> {
  await answerChallenge(io, authkey);
  await deliverChallenge(io, authkey, options);
}
