/**
 * The record format shared by log segments and snapshots. Pure: bytes in, payloads out, and back.
 *
 *   +----------------+----------------+---------------------------+
 *   | length (u32 BE)| CRC-32 (u32 BE)| payload: `length` bytes   |
 *   +----------------+----------------+---------------------------+
 *
 * The CRC (IEEE, as zlib's crc32) covers the payload; the payload is UTF-8 JSON. A length of 0 is
 * never written, so a run of zero bytes (a file extended but never filled) never reads as a record.
 */
import { crc32 } from 'node:zlib';

export const HEADER_BYTES = 8;
/** Largest payload accepted when reading; larger lengths are treated as damage. */
export const MAX_RECORD_BYTES = 1024 ** 3;

/** One record read back, with where it started in its file. */
export interface DecodedRecord {
  /** Offset of the record's header in the stream. */
  readonly offset: number;
  readonly payload: Buffer;
}

/** Why the bytes at `offset` are not a record. */
export class RecordError extends Error {
  constructor(
    readonly offset: number,
    readonly reason: string,
  ) {
    super(`bad record at offset ${offset}: ${reason}`);
  }

  override get name(): string {
    return 'RecordError';
  }
}

/** CRC-32 (IEEE) lookup table, for {@link crcOf}'s short-input path. */
const CRC_TABLE = new Int32Array(256);
for (let n = 0; n < 256; n++) {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  CRC_TABLE[n] = c;
}

/**
 * zlib's CRC-32 of `bytes[start, end)`. Most log records are a few dozen bytes, where the cost of
 * calling into zlib (and of the Buffer view it needs) exceeds the work: a table loop in JS is
 * about twice as fast there. Longer inputs go to zlib.
 */
export function crcOf(bytes: Buffer, start: number, end: number): number {
  if (end - start > 256) return crc32(bytes.subarray(start, end));
  let c = -1;
  for (let i = start; i < end; i++) c = CRC_TABLE[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ -1) >>> 0;
}

/** Encodes one record. */
export function encodeRecord(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const record = Buffer.allocUnsafe(HEADER_BYTES + body.length);
  record.writeUInt32BE(body.length, 0);
  record.writeUInt32BE(crc32(body), 4);
  body.copy(record, HEADER_BYTES);
  return record;
}

/**
 * Encodes many records into one buffer (one write for a whole batch): each string is encoded in
 * place, then its CRC computed over the bytes just written. On the path of every change, so it
 * avoids a sizing pass (room for 3 bytes per UTF-16 unit, the UTF-8 worst case) and per-record
 * Buffer views.
 */
export function encodeRecords(payloads: readonly string[]): Buffer {
  let capacity = 0;
  for (const payload of payloads) capacity += HEADER_BYTES + payload.length * 3;
  const out = Buffer.allocUnsafe(capacity);
  let at = 0;
  for (const payload of payloads) {
    const start = at + HEADER_BYTES;
    const length = out.write(payload, start, 'utf8');
    out.writeUInt32BE(length, at);
    out.writeUInt32BE(crcOf(out, start, start + length), at + 4);
    at = start + length;
  }
  return out.subarray(0, at);
}

/**
 * Streaming decoder: feed chunks as they are read, in any sizes; complete records come out in
 * order. At a record whose header or CRC is wrong it stops: that push returns the records before
 * it, {@link error} names the offset, and later pushes return nothing.
 */
export class RecordDecoder {
  private buffered: Buffer = Buffer.alloc(0);
  /** Stream offset of `buffered[0]`: the end of the last complete record. */
  private base = 0;
  private failure: RecordError | undefined;

  constructor(
    /** Stream offset of the first byte pushed (when decoding from the middle of a file). */
    start = 0,
    private readonly maxRecordBytes = MAX_RECORD_BYTES,
  ) {
    this.base = start;
  }

  /** Offset just past the last complete record: where a clean stream would end. */
  get offset(): number {
    return this.base;
  }

  /** Bytes of an incomplete record held at the end (0 when the stream ended on a boundary). */
  get pendingBytes(): number {
    return this.buffered.length;
  }

  /** The first bad record, once one was met. */
  get error(): RecordError | undefined {
    return this.failure;
  }

  /** Decodes the records `chunk` completes. */
  push(chunk: Buffer): DecodedRecord[] {
    if (this.failure !== undefined) return [];
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const records: DecodedRecord[] = [];
    let at = 0;
    while (this.buffered.length - at >= HEADER_BYTES) {
      const length = this.buffered.readUInt32BE(at);
      if (length === 0 || length > this.maxRecordBytes) {
        this.consume(at);
        this.failure = new RecordError(this.base, length === 0 ? 'zero length' : `length ${length} exceeds the ${this.maxRecordBytes}-byte limit`);
        return records;
      }
      if (this.buffered.length - at < HEADER_BYTES + length) break;
      if (crcOf(this.buffered, at + HEADER_BYTES, at + HEADER_BYTES + length) !== this.buffered.readUInt32BE(at + 4)) {
        this.consume(at);
        this.failure = new RecordError(this.base, 'checksum mismatch');
        return records;
      }
      records.push({ offset: this.base + at, payload: this.buffered.subarray(at + HEADER_BYTES, at + HEADER_BYTES + length) });
      at += HEADER_BYTES + length;
    }
    this.consume(at);
    return records;
  }

  private consume(bytes: number): void {
    if (bytes === 0) return;
    this.base += bytes;
    // Copy the remainder out so completed records' memory is not pinned by a partial one.
    this.buffered = bytes === this.buffered.length ? Buffer.alloc(0) : Buffer.from(this.buffered.subarray(bytes));
  }
}

/** True if a complete, checksummed record starts at `at` in `bytes`. */
export function isRecordAt(bytes: Buffer, at: number, maxRecordBytes = MAX_RECORD_BYTES): boolean {
  if (bytes.length - at < HEADER_BYTES) return false;
  const length = bytes.readUInt32BE(at);
  if (length === 0 || length > maxRecordBytes || bytes.length - at - HEADER_BYTES < length) return false;
  return crcOf(bytes, at + HEADER_BYTES, at + HEADER_BYTES + length) === bytes.readUInt32BE(at + 4);
}

/**
 * Decides what a bad record at the start of `tail` (the bytes from it to the end of the file)
 * means. A crash mid-write leaves damage only at the end: an incomplete record, a last record that
 * was not fully written, or zero bytes. If a valid record can be found anywhere after the bad one,
 * the damage is in the middle of the log, which no crash explains: `corrupt`. Otherwise: `torn`.
 * Only called on damage, so the byte-by-byte search costs nothing in the normal case.
 */
export function classifyDamage(tail: Buffer, maxRecordBytes = MAX_RECORD_BYTES): 'torn' | 'corrupt' {
  for (let at = 1; at + HEADER_BYTES < tail.length; at++) {
    if (isRecordAt(tail, at, maxRecordBytes)) return 'corrupt';
  }
  return 'torn';
}
