/**
 * Reads one log segment record by record and says how it ends: cleanly, torn (a crash mid-write:
 * only the end is damaged) or corrupt (damage with good records after it).
 */
import { open } from 'node:fs/promises';
import { classifyDamage, type DecodedRecord, HEADER_BYTES, RecordDecoder, type RecordError } from './record.js';

const READ_BYTES = 1024 * 1024;

export type SegmentEnd =
  | { readonly kind: 'clean' }
  | {
      readonly kind: 'torn' | 'corrupt';
      /** Where the damaged record starts: the file's good part ends here. */
      readonly offset: number;
      /** Bytes from `offset` to the end of the file. */
      readonly bytes: number;
      readonly reason: string;
      /** For `corrupt`: why no crash explains it. */
      readonly why?: string;
    };

export interface SegmentScan {
  /** Good records. */
  readonly records: number;
  /** File size. */
  readonly size: number;
  /**
   * Bytes of good records: where appends continue. Past it, a clean segment holds only zeros
   * (space the writer preallocated under fsync `always`).
   */
  readonly validBytes: number;
  readonly end: SegmentEnd;
}

/**
 * Streams the records of `path` to `onRecord` (which may throw to stop), then classifies any
 * damage at the end.
 */
export async function scanSegment(path: string, onRecord: (record: DecodedRecord) => void): Promise<SegmentScan> {
  const file = await open(path, 'r');
  try {
    const size = (await file.stat()).size;
    const decoder = new RecordDecoder();
    const chunk = Buffer.allocUnsafe(READ_BYTES);
    let records = 0;
    let damage: RecordError | undefined;
    let position = 0;
    while (position < size) {
      const { bytesRead } = await file.read(chunk, 0, chunk.length, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      for (const record of decoder.push(Buffer.from(chunk.subarray(0, bytesRead)))) {
        onRecord(record);
        records++;
      }
      damage = decoder.error;
      if (damage !== undefined) break;
    }
    if (damage === undefined && decoder.pendingBytes === 0) return { records, size, validBytes: size, end: { kind: 'clean' } };
    const offset = damage?.offset ?? decoder.offset;
    const reason = damage?.reason ?? `incomplete record: ${size - offset} bytes where a whole record should be`;
    const tail = Buffer.allocUnsafe(size - offset);
    await file.read(tail, 0, tail.length, offset);
    // Only zeros: preallocated space that no record reached. The log simply ends here.
    if (isZero(tail)) return { records, size, validBytes: offset, end: { kind: 'clean' } };
    if (classifyDamage(tail) === 'corrupt') return { records, size, validBytes: offset, end: { kind: 'corrupt', offset, bytes: size - offset, reason, why: 'intact records follow it' } };
    if (isComplete(tail)) {
      return {
        records, size, validBytes: offset,
        end: { kind: 'corrupt', offset, bytes: size - offset, reason, why: 'the record is complete (every byte of its length is there) yet fails its checksum: it was damaged after it was written' },
      };
    }
    return { records, size, validBytes: offset, end: { kind: 'torn', offset, bytes: size - offset, reason } };
  } finally {
    await file.close();
  }
}

/**
 * Whether the record at the start of `tail` has all its bytes: its length fits in the file and its
 * last byte was written. A crash mid-write leaves a record short, or (over space preallocated with
 * zeros, or pages that never reached the disk) ending in zeros; a payload is JSON text, which never
 * holds a zero byte, so a record whose last byte is not zero was written whole.
 */
function isComplete(tail: Buffer): boolean {
  if (tail.length < HEADER_BYTES) return false;
  const end = HEADER_BYTES + tail.readUInt32BE(0);
  return end <= tail.length && tail[end - 1] !== 0;
}

function isZero(bytes: Buffer): boolean {
  for (let i = 0; i < bytes.length; i++) if (bytes[i] !== 0) return false;
  return true;
}

/** Whether the segment at `path` starts with a record (not empty, not only preallocated zeros). */
export async function hasRecords(path: string): Promise<boolean> {
  const file = await open(path, 'r');
  try {
    const header = Buffer.alloc(4);
    const { bytesRead } = await file.read(header, 0, 4, 0);
    return bytesRead === 4 && header.readUInt32BE(0) !== 0;
  } finally {
    await file.close();
  }
}
