/**
 * Length-prefixed framing, as in CPython's `multiprocessing.connection`: a 4-byte big-endian signed
 * length then the payload; a length of -1 announces an 8-byte big-endian unsigned length instead.
 * Pure: no sockets, no timers.
 */
// Buffer imported rather than the global, which is a getter called on every use.
import { Buffer } from 'node:buffer';
import { FrameError } from '../errors.js';

export { FrameError };

const EXTENDED_MARKER = -1;
const MAX_SHORT_LENGTH = 0x7fffffff;

/**
 * A frame for a payload of `length` bytes, its header written and its payload left to the caller:
 * the payload starts at `frame.length - length`.
 */
export function allocateFrame(length: number): Buffer {
  const frame = Buffer.allocUnsafe((length > MAX_SHORT_LENGTH ? 12 : 4) + length);
  writeHeader(frame, length);
  return frame;
}

/** Encodes one frame. Strings are written as UTF-8 straight into the frame buffer (no extra copy). */
export function encodeFrame(payload: Buffer | string): Buffer {
  if (typeof payload === 'string') {
    const length = Buffer.byteLength(payload);
    const frame = allocateFrame(length);
    frame.write(payload, frame.length - length, 'utf8');
    return frame;
  }
  const frame = allocateFrame(payload.length);
  payload.copy(frame, frame.length - payload.length);
  return frame;
}

/**
 * A turn's sends in one buffer, back to back: each string is a payload, framed here; each Buffer
 * is a whole frame already (encodeFrame's, or fast-path.ts's) and is copied as it is. Only the
 * first `count` items (default all) are taken.
 */
export function joinFrames(items: ReadonlyArray<Buffer | string | undefined>, count = items.length): Buffer {
  let total = 0;
  const lengths = new Array<number>(count);
  for (let i = 0; i < count; i++) {
    const item = items[i]!;
    if (typeof item === 'string') {
      const length = Buffer.byteLength(item);
      lengths[i] = length;
      total += (length > MAX_SHORT_LENGTH ? 12 : 4) + length;
    } else {
      total += item.length;
    }
  }
  const out = Buffer.allocUnsafe(total);
  let offset = 0;
  for (let i = 0; i < count; i++) {
    const item = items[i]!;
    if (typeof item === 'string') {
      const length = lengths[i]!;
      offset += writeHeader(out, length, offset);
      out.write(item, offset, 'utf8');
      offset += length;
    } else {
      item.copy(out, offset);
      offset += item.length;
    }
  }
  return out;
}

/** The payload length of a whole frame (as encodeFrame writes one), read from its header. */
export function payloadLength(frame: Buffer): number {
  const length = frame.readInt32BE(0);
  return length === EXTENDED_MARKER ? Number(frame.readBigUInt64BE(4)) : length;
}

/** Encodes only the header for a payload of `length` bytes (4 bytes, or 12 in the extended form). */
export function encodeHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(length > MAX_SHORT_LENGTH ? 12 : 4);
  writeHeader(header, length);
  return header;
}

/** Writes the header for `length` at `offset`; returns the header's size (4 or 12). */
function writeHeader(target: Buffer, length: number, offset = 0): number {
  if (length > MAX_SHORT_LENGTH) {
    target.writeInt32BE(EXTENDED_MARKER, offset);
    target.writeBigUInt64BE(BigInt(length), offset + 4);
    return 12;
  }
  target.writeInt32BE(length, offset);
  return 4;
}

/**
 * Incremental frame decoder. Feed it chunks in arrival order; it calls `onFrame` once per complete
 * payload. A header that announces more than `maxFrameBytes` throws before any of that payload is
 * buffered, so a hostile length cannot make us allocate. After a throw the decoder is unusable.
 *
 * Payloads that lie within one chunk are returned as views into it (no copy); a payload spread over
 * chunks is copied once into a buffer of exactly its size.
 */
export class FrameDecoder {
  /** Largest payload accepted; may be raised after the handshake. */
  maxFrameBytes: number;
  private readonly onFrame: (payload: Buffer) => void;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Payload length of the frame being read, or -1 while waiting for a header. */
  private need = -1;
  private stopped = false;
  private paused = false;

  /**
   * `copyHeldChunks`: the caller reuses its chunk buffers once push() returns (a socket read into
   * one buffer), so bytes kept for a later frame are copied. Payloads are handed over during
   * push() either way; a handler that keeps one past its call must copy it.
   */
  constructor(maxFrameBytes: number, onFrame: (payload: Buffer) => void, options?: { copyHeldChunks?: boolean }) {
    this.maxFrameBytes = maxFrameBytes;
    this.onFrame = onFrame;
    this.copyHeldChunks = options?.copyHeldChunks ?? false;
  }

  private readonly copyHeldChunks: boolean;

  /** Bytes received but not yet delivered as a frame. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Stops delivering frames, even those already buffered (the owner is closing). */
  stop(): void {
    this.stopped = true;
    this.chunks = [];
    this.buffered = 0;
  }

  /** Holds frames back (bytes are still buffered) until {@link resume}. */
  pause(): void {
    this.paused = true;
  }

  /** Delivers what was held back. @throws FrameError as {@link push} does. */
  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.drain();
  }

  /**
   * Takes the first `length` bytes of `chunk` (all of it by default): a socket reading into one
   * buffer passes the buffer and the bytes read, which saves a view of them per read.
   * @throws FrameError on a negative or oversized length header.
   */
  push(chunk: Buffer, length = chunk.length): void {
    if (this.stopped || length === 0) return;
    let used = 0;
    if (this.buffered === 0 && this.need < 0 && !this.paused) {
      // Nothing held from earlier chunks (the usual case): frames are read straight out of this one.
      used = this.takeWholeFrames(chunk, length);
      if (used === length || this.stopped) return;
    }
    const rest = used === 0 && length === chunk.length ? chunk : chunk.subarray(used, length);
    this.chunks.push(this.copyHeldChunks ? Buffer.from(rest) : rest);
    this.buffered += rest.length;
    this.drain();
  }

  /**
   * Delivers the whole short-header frames at the start of `chunk`'s first `size` bytes; returns
   * the bytes they took. Stops at anything else (a partial frame, an extended or invalid header),
   * and when a handler pauses or stops the decoder, leaving the rest to the general path.
   */
  private takeWholeFrames(chunk: Buffer, size: number): number {
    let offset = 0;
    while (size - offset >= 4 && !this.paused && !this.stopped) {
      const length = chunk.readInt32BE(offset);
      // The extended form and invalid lengths are negative: readHeader() reports them.
      if (length < 0) break;
      this.checkLength(length);
      const end = offset + 4 + length;
      if (end > size) break;
      const payload = chunk.subarray(offset + 4, end);
      offset = end;
      this.onFrame(payload);
    }
    return offset;
  }

  private drain(): void {
    while (!this.stopped && !this.paused) {
      if (this.need < 0 && !this.readHeader()) return;
      if (this.buffered < this.need) return;
      const payload = this.take(this.need);
      this.need = -1;
      this.onFrame(payload);
    }
  }

  /** Parses the next header if enough bytes are here; returns false if it needs more. */
  private readHeader(): boolean {
    if (this.buffered < 4) return false;
    const length = this.peek(4).readInt32BE(0);
    if (length >= 0) {
      this.checkLength(length);
      this.skip(4);
      this.need = length;
      return true;
    }
    if (length !== EXTENDED_MARKER) {
      this.fail('PROTOCOL_ERROR', `invalid frame header: negative length ${length}`);
    }
    if (this.buffered < 12) return false;
    const extended = this.peek(12).readBigUInt64BE(4);
    if (extended > BigInt(this.maxFrameBytes)) this.tooLarge(extended);
    this.skip(12);
    this.need = Number(extended);
    return true;
  }

  private checkLength(length: number): void {
    if (length > this.maxFrameBytes) this.tooLarge(length);
  }

  private tooLarge(length: number | bigint): never {
    this.fail(
      'FRAME_TOO_LARGE',
      `frame of ${length} bytes exceeds the maximum of ${this.maxFrameBytes} bytes`,
    );
  }

  private fail(code: FrameError['code'], message: string): never {
    this.stop();
    throw new FrameError(code, message);
  }

  /** The first `n` buffered bytes, without consuming them. */
  private peek(n: number): Buffer {
    const first = this.chunks[0]!;
    if (first.length >= n) return first;
    return Buffer.concat(this.chunks, n);
  }

  private skip(n: number): void {
    this.take(n);
  }

  /** Removes and returns the first `n` buffered bytes. */
  private take(n: number): Buffer {
    this.buffered -= n;
    const first = this.chunks[0];
    if (first === undefined || n === 0) return Buffer.alloc(0);
    if (first.length > n) {
      this.chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    if (first.length === n) {
      this.chunks.shift();
      return first;
    }
    const out = Buffer.allocUnsafe(n);
    let offset = 0;
    while (offset < n) {
      const chunk = this.chunks[0]!;
      const wanted = n - offset;
      if (chunk.length <= wanted) {
        chunk.copy(out, offset);
        offset += chunk.length;
        this.chunks.shift();
      } else {
        chunk.copy(out, offset, 0, wanted);
        this.chunks[0] = chunk.subarray(wanted);
        offset += wanted;
      }
    }
    return out;
  }
}

/**
 * Decodes a message that must hold exactly one frame (one WebSocket binary message).
 * @throws FrameError if the header is invalid, over `maxFrameBytes`, or disagrees with the size.
 */
export function decodeSingleFrame(message: Buffer, maxFrameBytes: number): Buffer {
  if (message.length < 4) throw new FrameError('PROTOCOL_ERROR', 'message too short to hold a frame header');
  let length = message.readInt32BE(0);
  let headerLength = 4;
  if (length === EXTENDED_MARKER) {
    if (message.length < 12) throw new FrameError('PROTOCOL_ERROR', 'message too short to hold an extended frame header');
    const extended = message.readBigUInt64BE(4);
    if (extended > BigInt(maxFrameBytes)) {
      throw new FrameError('FRAME_TOO_LARGE', `frame of ${extended} bytes exceeds the maximum of ${maxFrameBytes} bytes`);
    }
    length = Number(extended);
    headerLength = 12;
  } else if (length < 0) {
    throw new FrameError('PROTOCOL_ERROR', `invalid frame header: negative length ${length}`);
  }
  if (length > maxFrameBytes) {
    throw new FrameError('FRAME_TOO_LARGE', `frame of ${length} bytes exceeds the maximum of ${maxFrameBytes} bytes`);
  }
  if (message.length !== headerLength + length) {
    throw new FrameError(
      'PROTOCOL_ERROR',
      `a message must carry exactly one frame: header says ${length} bytes, message has ${message.length - headerLength}`,
    );
  }
  return message.subarray(headerLength);
}
