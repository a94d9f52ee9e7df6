/**
 * Reads one log segment record by record and says how it ends: cleanly, torn (a crash mid-write:
 * only the end is damaged) or corrupt (damage with good records after it).
 */
import { open } from 'node:fs/promises';
import { classifyDamage, type DecodedRecord, RecordDecoder, type RecordError } from './record.js';

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
    return { records, size, validBytes: offset, end: { kind: classifyDamage(tail), offset, bytes: size - offset, reason } };
  } finally {
    await file.close();
  }
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
