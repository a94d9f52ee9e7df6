/** The record codec: byte vectors (checked against Python's zlib.crc32), fed whole, byte by byte and split at every boundary. */
import { describe, expect, it } from 'vitest';
import { crc32 } from 'node:zlib';
import { classifyDamage, crcOf, encodeRecord, encodeRecords, isRecordAt, RecordDecoder } from '../../../src/persistence/record.js';

/** [name, hex of the encoded stream, payloads it holds]. */
const VECTORS: Array<[string, string, string[]]> = [
  ['one small record', '000000034c2f32b85b315d', ['[1]']],
  ['a dict effect', '00000014ae2639b95b5b2264736574222c2264222c226b222c315d5d', ['[["dset","d","k",1]]']],
  ['UTF-8 (length counts bytes, not characters)', '0000000c9a766a367b22c3a9223a22e282ac227d', ['{"é":"€"}']],
  [
    'three records back to back',
    '000000034c2f32b85b315d' + '00000014ae2639b95b5b2264736574222c2264222c226b222c315d5d' + '000000034c2f32b85b315d',
    ['[1]', '[["dset","d","k",1]]', '[1]'],
  ],
];

/** The buffer whole, byte by byte, and cut in two at every boundary. */
function splits(bytes: Buffer): Buffer[][] {
  const ways: Buffer[][] = [[bytes], [...bytes].map((byte) => Buffer.from([byte]))];
  for (let cut = 1; cut < bytes.length; cut++) ways.push([bytes.subarray(0, cut), bytes.subarray(cut)]);
  return ways;
}

function decodeAll(chunks: Buffer[]): { payloads: string[]; offsets: number[]; pending: number; error?: string } {
  const decoder = new RecordDecoder();
  const payloads: string[] = [];
  const offsets: number[] = [];
  for (const chunk of chunks) {
    for (const record of decoder.push(chunk)) {
      payloads.push(record.payload.toString('utf8'));
      offsets.push(record.offset);
    }
  }
  return { payloads, offsets, pending: decoder.pendingBytes, ...(decoder.error && { error: `${decoder.error.offset}: ${decoder.error.reason}` }) };
}

describe('encodeRecord / encodeRecords', () => {
  for (const [name, hex, payloads] of VECTORS) {
    it(`encodes ${name}`, () => {
      expect(Buffer.concat(payloads.map((payload) => encodeRecord(payload))).toString('hex')).toBe(hex);
      expect(encodeRecords(payloads).toString('hex')).toBe(hex);
    });
  }

  it('encodes an empty batch as nothing', () => {
    expect(encodeRecords([]).length).toBe(0);
  });
});

describe('RecordDecoder', () => {
  for (const [name, hex, payloads] of VECTORS) {
    for (const chunks of splits(Buffer.from(hex, 'hex'))) {
      it(`decodes ${name} in ${chunks.length} chunk(s)${chunks.length === 2 ? ` cut at ${chunks[0]!.length}` : ''}`, () => {
        const decoded = decodeAll(chunks);
        expect(decoded.payloads).toEqual(payloads);
        expect(decoded.pending).toBe(0);
        expect(decoded.error).toBeUndefined();
      });
    }
  }

  it('reports record offsets in the stream, from a given start', () => {
    const decoder = new RecordDecoder(100);
    const records = decoder.push(encodeRecords(['[1]', '[22]']));
    expect(records.map((record) => record.offset)).toEqual([100, 111]);
    expect(decoder.offset).toBe(123);
  });

  it('holds an incomplete record as pending, never as an error', () => {
    const bytes = encodeRecords(['[1]', '["incomplete"]']);
    const decoded = decodeAll([bytes.subarray(0, bytes.length - 3)]);
    expect(decoded.payloads).toEqual(['[1]']);
    expect(decoded.pending).toBe(bytes.length - 3 - 11);
    expect(decoded.error).toBeUndefined();
  });

  it('stops at a flipped payload byte, returning the records before it', () => {
    const bytes = encodeRecords(['[1]', '[2]', '[3]']);
    bytes[11 + 8 + 1] ^= 0x01; // inside the second payload
    for (const chunks of splits(bytes)) {
      const decoded = decodeAll(chunks);
      expect(decoded.payloads).toEqual(['[1]']);
      expect(decoded.error).toBe('11: checksum mismatch');
    }
  });

  it('stops at a zero length (a zero-filled tail) and at an absurd length', () => {
    expect(decodeAll([Buffer.concat([encodeRecord('[1]'), Buffer.alloc(16)])]).error).toBe('11: zero length');
    const decoder = new RecordDecoder(0, 1000);
    decoder.push(Buffer.from('000003e9000000000000', 'hex'));
    expect(decoder.error?.reason).toMatch(/exceeds the 1000-byte limit/);
  });

  it('returns nothing after an error, however much more is pushed', () => {
    const decoder = new RecordDecoder();
    decoder.push(Buffer.alloc(8));
    expect(decoder.push(encodeRecord('[1]'))).toEqual([]);
    expect(decoder.error?.offset).toBe(0);
  });
});

describe('classifyDamage', () => {
  it('calls an incomplete last record torn', () => {
    expect(classifyDamage(encodeRecord('[1,2,3]').subarray(0, 9))).toBe('torn');
  });

  it('calls a last record with a bad checksum torn (a write the disk did not finish)', () => {
    const last = encodeRecord('[1,2,3]');
    last[10] ^= 0xff;
    expect(classifyDamage(last)).toBe('torn');
  });

  it('calls zero bytes torn', () => {
    expect(classifyDamage(Buffer.alloc(4096))).toBe('torn');
  });

  it('calls damage followed by an intact record corrupt', () => {
    const bad = encodeRecord('[1,2,3]');
    bad[10] ^= 0xff;
    expect(classifyDamage(Buffer.concat([bad, encodeRecord('[4]')]))).toBe('corrupt');
  });

  it('calls a damaged length followed by intact records corrupt', () => {
    const stream = encodeRecords(['[1]', '[2]', '[3]']);
    stream[0] = 0x7f; // the length now runs past the end of the file
    expect(classifyDamage(stream)).toBe('corrupt');
  });
});

describe('crcOf', () => {
  it('agrees with zlib on both sides of its short-input path, at any offset', () => {
    const bytes = Buffer.from(Array.from({ length: 700 }, (_, i) => (i * 131 + 7) & 0xff));
    for (const length of [0, 1, 2, 255, 256, 257, 600]) {
      for (const start of [0, 3, 50]) expect(crcOf(bytes, start, start + length)).toBe(crc32(bytes.subarray(start, start + length)));
    }
  });
});

describe('isRecordAt', () => {
  it('finds a record only where one starts', () => {
    const stream = encodeRecords(['[1]', '[2]']);
    expect(isRecordAt(stream, 0)).toBe(true);
    expect(isRecordAt(stream, 11)).toBe(true);
    expect(isRecordAt(stream, 1)).toBe(false);
    expect(isRecordAt(stream, 12)).toBe(false);
  });
});
