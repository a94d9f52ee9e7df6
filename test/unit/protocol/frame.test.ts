/**
 * The frame codec with hex byte vectors. Every decoder vector is fed whole, one byte at a time and
 * split at every byte boundary, since TCP may cut a stream anywhere.
 */
import { describe, expect, it } from 'vitest';
import { decodeSingleFrame, encodeFrame, encodeHeader, FrameDecoder, FrameError, joinFrames } from '../../../src/protocol/frame.js';

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex');

/**
 * The ways a byte stream may arrive: whole, byte by byte, and cut in two at every boundary.
 * Each yields a label (for the test name) and the chunks, in order.
 */
function* splits(buf: Buffer): Generator<[string, Buffer[]]> {
  yield ['whole', [buf]];
  if (buf.length > 1) yield ['byte by byte', [...buf].map((byte) => Buffer.from([byte]))];
  for (let cut = 1; cut < buf.length; cut++) yield [`split at byte ${cut}`, [buf.subarray(0, cut), buf.subarray(cut)]];
}

interface Decoded {
  /** Payloads, as hex. */
  frames: string[];
  /** The FrameError code, if one was thrown. */
  error?: string;
  /** Bytes pushed before the chunk that threw, and that chunk's length. */
  thrownIn?: { before: number; length: number };
}

/** Pushes `chunks` in order into a fresh decoder and records what came out. */
function decodeAll(chunks: Buffer[], maxFrameBytes = 1024): Decoded {
  const frames: string[] = [];
  // Copy each chunk, so a decoder that kept a view of a caller's buffer could not pass by accident.
  const decoder = new FrameDecoder(maxFrameBytes, (payload) => frames.push(Buffer.from(payload).toString('hex')));
  let before = 0;
  for (const chunk of chunks) {
    try {
      decoder.push(Buffer.from(chunk));
    } catch (err) {
      expect(err).toBeInstanceOf(FrameError);
      return { frames, error: (err as FrameError).code, thrownIn: { before, length: chunk.length } };
    }
    before += chunk.length;
  }
  return { frames };
}

/** name, stream (hex), payloads it decodes to (hex), with a maxFrameBytes of {@link VECTOR_MAX}. */
const VECTOR_MAX = 16;
const VECTORS: Array<[string, string, string[]]> = [
  ['an empty payload', '00000000', ['']],
  ['a small payload', '00000003 616263', ['616263']],
  ['a JSON request', '0000000f 7b226964223a312c226f70223a317d', ['7b226964223a312c226f70223a317d']],
  ['three frames back to back', '00000001 61  00000000  00000002 6263', ['61', '', '6263']],
  ['a payload of exactly maxFrameBytes', `00000010 ${'ab'.repeat(16)}`, ['ab'.repeat(16)]],
  ['the extended form (ffffffff + u64 length)', 'ffffffff 0000000000000005 68656c6c6f', ['68656c6c6f']],
  ['an extended empty payload', 'ffffffff 0000000000000000', ['']],
  ['an extended frame followed by a short one', 'ffffffff 0000000000000002 6869  00000001 21', ['6869', '21']],
];

/** name, stream (hex), maxFrameBytes, frames delivered first, code, offset where the bad header ends. */
const BAD_VECTORS: Array<[string, string, number, string[], string, number]> = [
  ['a negative length (-2)', 'fffffffe 0000', 1024, [], 'PROTOCOL_ERROR', 4],
  ['the most negative length', '80000000', 1024, [], 'PROTOCOL_ERROR', 4],
  ['a negative length after a good frame', '00000001 61  ffffff00', 1024, ['61'], 'PROTOCOL_ERROR', 9],
  // The payload is not in the stream at all: the header alone must be enough to refuse it.
  ['a length one over maxFrameBytes', '00000009', 8, [], 'FRAME_TOO_LARGE', 4],
  ['a length over maxFrameBytes, payload following', '00000009 000102030405060708', 8, [], 'FRAME_TOO_LARGE', 4],
  ['the largest 4-byte length', '7fffffff', 1024, [], 'FRAME_TOO_LARGE', 4],
  ['an extended length one over maxFrameBytes', 'ffffffff 0000000000000009', 8, [], 'FRAME_TOO_LARGE', 12],
  ['the largest extended length', 'ffffffff ffffffffffffffff', 1024, [], 'FRAME_TOO_LARGE', 12],
  ['an oversized frame after a good one', '00000002 6869  00000100', 8, ['6869'], 'FRAME_TOO_LARGE', 10],
];

describe('FrameDecoder', () => {
  for (const [name, stream, want] of VECTORS) {
    describe(`decodes ${name}`, () => {
      for (const [label, chunks] of splits(hex(stream))) {
        it(label, () => expect(decodeAll(chunks, VECTOR_MAX)).toEqual({ frames: want }));
      }
    });
  }

  for (const [name, stream, max, before, code, headerEnd] of BAD_VECTORS) {
    describe(`throws ${code} on ${name}`, () => {
      for (const [label, chunks] of splits(hex(stream))) {
        it(`${label}, in the chunk that completes the header`, () => {
          const got = decodeAll(chunks, max);
          expect(got.frames).toEqual(before);
          expect(got.error).toBe(code);
          // Thrown by the chunk holding the header's last byte: no later byte was needed.
          expect(got.thrownIn!.before).toBeLessThan(headerEnd);
          expect(got.thrownIn!.before + got.thrownIn!.length).toBeGreaterThanOrEqual(headerEnd);
        });
      }
    });
  }

  it('waits for more bytes while a header is incomplete', () => {
    const frames: Buffer[] = [];
    const short = new FrameDecoder(1024, (payload) => frames.push(payload));
    short.push(hex('000000'));
    expect(short.bufferedBytes).toBe(3);
    const extended = new FrameDecoder(1024, (payload) => frames.push(payload));
    extended.push(hex('ffffffff 000000000000'));
    expect(extended.bufferedBytes).toBe(10);
    expect(frames).toEqual([]);
    extended.push(hex('0001 7a'));
    expect(frames.map((frame) => frame.toString('hex'))).toEqual(['7a']);
  });

  it('throws FRAME_TOO_LARGE at the header without buffering the announced payload', () => {
    const decoder = new FrameDecoder(16, () => expect.unreachable('no frame may be delivered'));
    expect(() => decoder.push(hex('7ffffff0'))).toThrow(expect.objectContaining({ code: 'FRAME_TOO_LARGE' }));
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('ignores everything pushed after a framing error', () => {
    const frames: Buffer[] = [];
    const decoder = new FrameDecoder(1024, (payload) => frames.push(payload));
    expect(() => decoder.push(hex('fffffffe'))).toThrow(FrameError);
    decoder.push(hex('00000001 61'));
    expect(frames).toEqual([]);
    expect(decoder.bufferedBytes).toBe(0);
  });

  it('accepts a larger frame once maxFrameBytes is raised', () => {
    const frames: string[] = [];
    const decoder = new FrameDecoder(2, (payload) => frames.push(payload.toString('hex')));
    decoder.push(hex('00000002 6869'));
    decoder.maxFrameBytes = 5;
    decoder.push(hex('00000005 68656c6c6f'));
    expect(frames).toEqual(['6869', '68656c6c6f']);
  });

  it('delivers a payload spread over many chunks as one buffer of exactly its size', () => {
    const frames: Buffer[] = [];
    const decoder = new FrameDecoder(1024, (payload) => frames.push(payload));
    const payload = Buffer.from('x'.repeat(100));
    const stream = encodeFrame(payload);
    for (let offset = 0; offset < stream.length; offset += 7) decoder.push(stream.subarray(offset, offset + 7));
    expect(frames).toHaveLength(1);
    expect(frames[0]!.length).toBe(100);
    expect(frames[0]!.equals(payload)).toBe(true);
    expect(decoder.bufferedBytes).toBe(0);
  });

  describe('copyHeldChunks (a caller that reuses its read buffer)', () => {
    it('assembles frames from copies of what it holds, whatever the caller writes over its buffer later', () => {
      const payloads = ['first', 'x'.repeat(70), '', 'üñï', 'last one'].map((text) => Buffer.from(text));
      const stream = Buffer.concat(payloads.map((payload) => encodeFrame(payload)));
      for (const size of [1, 3, 4, 5, 7, 16, stream.length]) {
        const frames: string[] = [];
        // Handlers read payloads during the call, as the channel's handlers do.
        const decoder = new FrameDecoder(1024, (payload) => frames.push(payload.toString('hex')), { copyHeldChunks: true });
        const reused = Buffer.alloc(size);
        for (let offset = 0; offset < stream.length; offset += size) {
          const n = stream.copy(reused, 0, offset, offset + size);
          decoder.push(reused.subarray(0, n));
          reused.fill(0xee); // the next read overwrites it
        }
        expect(frames).toEqual(payloads.map((payload) => payload.toString('hex')));
        expect(decoder.bufferedBytes).toBe(0);
      }
    });
  });

  describe('#push(chunk, length)', () => {
    it('reads only the first `length` bytes of the chunk, whatever follows them', () => {
      const payloads = ['first', 'x'.repeat(70), '', 'üñï', 'last one'].map((text) => Buffer.from(text));
      const stream = Buffer.concat(payloads.map((payload) => encodeFrame(payload)));
      for (const copyHeldChunks of [true, false]) {
        for (const size of [1, 3, 4, 5, 7, 16, stream.length]) {
          const frames: string[] = [];
          const decoder = new FrameDecoder(1024, (payload) => frames.push(payload.toString('hex')), { copyHeldChunks });
          for (let offset = 0; offset < stream.length; offset += size) {
            // A read buffer larger than the read, its tail zeros: taken as bytes, they would be
            // headers of empty frames.
            const buffer = Buffer.alloc(stream.length + 8);
            const n = stream.copy(buffer, 0, offset, offset + size);
            decoder.push(buffer, n);
            if (copyHeldChunks) buffer.fill(0xee); // a reused buffer: the next read overwrites it
          }
          expect(frames).toEqual(payloads.map((payload) => payload.toString('hex')));
          expect(decoder.bufferedBytes).toBe(0);
        }
      }
    });
  });

  describe('#pause()/#resume()', () => {
    it('holds complete frames back while paused and delivers them in order on resume', () => {
      const frames: string[] = [];
      const decoder = new FrameDecoder(1024, (payload) => frames.push(payload.toString('hex')));
      decoder.pause();
      decoder.push(hex('00000001 61  00000001 62'));
      expect(frames).toEqual([]);
      expect(decoder.bufferedBytes).toBe(10);
      decoder.resume();
      expect(frames).toEqual(['61', '62']);
      expect(decoder.bufferedBytes).toBe(0);
    });

    it('stops delivering at once when a frame handler pauses', () => {
      const frames: string[] = [];
      const decoder = new FrameDecoder(1024, (payload) => {
        frames.push(payload.toString('hex'));
        decoder.pause();
      });
      decoder.push(hex('00000001 61  00000001 62  00000001 63'));
      expect(frames).toEqual(['61']);
      decoder.resume();
      expect(frames).toEqual(['61', '62']);
      decoder.resume();
      expect(frames).toEqual(['61', '62', '63']);
    });

    it('throws from resume() when a held-back header is invalid', () => {
      const frames: string[] = [];
      const decoder = new FrameDecoder(4, (payload) => frames.push(payload.toString('hex')));
      decoder.pause();
      decoder.push(hex('00000001 61  00000005'));
      let code: string | undefined;
      try {
        decoder.resume();
      } catch (err) {
        code = (err as FrameError).code;
      }
      expect(frames).toEqual(['61']);
      expect(code).toBe('FRAME_TOO_LARGE');
    });

    it('treats resume() without pause() as a no-op', () => {
      const frames: string[] = [];
      const decoder = new FrameDecoder(1024, (payload) => frames.push(payload.toString('hex')));
      decoder.push(hex('000000'));
      decoder.resume();
      decoder.push(hex('01 61'));
      expect(frames).toEqual(['61']);
    });

    it('delivers nothing more from a chunk once a frame handler stops the decoder', () => {
      const frames: string[] = [];
      const decoder = new FrameDecoder(1024, (payload) => {
        frames.push(payload.toString('hex'));
        decoder.stop();
      });
      decoder.push(hex('00000001 61  00000001 62  000000'));
      expect(frames).toEqual(['61']);
      expect(decoder.bufferedBytes).toBe(0);
    });

    it('delivers nothing after stop(), even frames already buffered', () => {
      const frames: string[] = [];
      const decoder = new FrameDecoder(1024, (payload) => frames.push(payload.toString('hex')));
      decoder.pause();
      decoder.push(hex('00000001 61'));
      decoder.stop();
      decoder.resume();
      expect(frames).toEqual([]);
      expect(decoder.bufferedBytes).toBe(0);
    });
  });
});

describe('encodeFrame', () => {
  const CASES: Array<[string, Buffer | string, string]> = [
    ['an empty buffer', Buffer.alloc(0), '00000000'],
    ['an empty string', '', '00000000'],
    ['a buffer', hex('010203'), '00000003 010203'],
    ['an ASCII string', 'abc', '00000003 616263'],
    // The length counts UTF-8 bytes, not UTF-16 code units.
    ['a non-ASCII string', 'é€', '00000005 c3a9e282ac'],
    ['a string with an astral character', '😀', '00000004 f09f9880'],
  ];
  for (const [name, payload, want] of CASES) {
    it(`encodes ${name}`, () => expect(encodeFrame(payload).toString('hex')).toBe(want.replace(/\s+/g, '')));
  }

  it('round-trips frames through the decoder whatever the chunking', () => {
    const payloads = ['', '{"id":1}', 'é', 'x'.repeat(300)];
    const stream = Buffer.concat(payloads.map((payload) => encodeFrame(payload)));
    const want = payloads.map((payload) => Buffer.from(payload).toString('hex'));
    for (const [, chunks] of splits(stream)) expect(decodeAll(chunks)).toEqual({ frames: want });
  });
});

describe('joinFrames', () => {
  it('frames strings as UTF-8 and copies Buffers as whole frames, back to back, in order', () => {
    const items = ['{"id":1,"result":2}', encodeFrame(Buffer.from('0102ff', 'hex')), '', 'é€😀', encodeFrame(Buffer.alloc(0)), hex('00000001 7a')];
    const joined = joinFrames(items);
    const want = Buffer.concat(items.map((item) => (typeof item === 'string' ? encodeFrame(item) : item)));
    expect(joined.toString('hex')).toBe(want.toString('hex'));
    expect(joined.subarray(0, 4).toString('hex')).toBe('00000013');
    expect(joined.subarray(23, 30).toString('hex')).toBe('000000030102ff');
  });

  it('decodes back into the same payloads', () => {
    const seen: string[] = [];
    new FrameDecoder(1024, (p) => seen.push(p.toString())).push(joinFrames(['a', encodeFrame('bb'), 'ccc']));
    expect(seen).toEqual(['a', 'bb', 'ccc']);
  });

  it('takes only the first `count` items of a reused array', () => {
    const items: Array<Buffer | string | undefined> = ['a', encodeFrame('bb'), 'stale', undefined];
    expect(joinFrames(items, 2).toString('hex')).toBe(Buffer.concat([encodeFrame('a'), encodeFrame('bb')]).toString('hex'));
    expect(joinFrames(items, 0)).toHaveLength(0);
  });
});

describe('encodeHeader', () => {
  const CASES: Array<[number, string]> = [
    [0, '00000000'],
    [1, '00000001'],
    [0x7fffffff, '7fffffff'],
    // Above 2 GiB - 1 CPython (>= 3.8) switches to -1 followed by an unsigned 64-bit length.
    [0x80000000, 'ffffffff 0000000080000000'],
    [2 ** 40 + 3, 'ffffffff 0000010000000003'],
  ];
  for (const [length, want] of CASES) {
    it(`encodes a length of ${length}`, () => expect(encodeHeader(length).toString('hex')).toBe(want.replace(/\s+/g, '')));
  }

  it('writes the extended form that the decoder reads back', () => {
    const frames: string[] = [];
    const decoder = new FrameDecoder(2 ** 31, (payload) => frames.push(payload.toString('hex')));
    // Announce 2 GiB, then check the decoder waits for exactly that many bytes (not for a few).
    decoder.push(encodeHeader(0x80000000));
    decoder.push(Buffer.alloc(16));
    expect(frames).toEqual([]);
    expect(decoder.bufferedBytes).toBe(16);
  });
});

describe('decodeSingleFrame', () => {
  const GOOD: Array<[string, string, string]> = [
    ['a small frame', '00000003 616263', '616263'],
    ['an empty frame', '00000000', ''],
    ['an extended frame', 'ffffffff 0000000000000002 6869', '6869'],
    ['a frame of exactly maxFrameBytes', '00000008 0001020304050607', '0001020304050607'],
  ];
  for (const [name, message, want] of GOOD) {
    it(`returns the payload of ${name}`, () => expect(decodeSingleFrame(hex(message), 8).toString('hex')).toBe(want));
  }

  const BAD: Array<[string, string, string]> = [
    ['a message shorter than a header', '000000', 'PROTOCOL_ERROR'],
    ['an empty message', '', 'PROTOCOL_ERROR'],
    ['a truncated extended header', 'ffffffff 00000000', 'PROTOCOL_ERROR'],
    ['a negative length', 'fffffffe', 'PROTOCOL_ERROR'],
    ['a payload shorter than announced', '00000005 6869', 'PROTOCOL_ERROR'],
    ['a payload longer than announced', '00000001 6869', 'PROTOCOL_ERROR'],
    ['two frames in one message', '00000001 61  00000001 62', 'PROTOCOL_ERROR'],
    ['a length over maxFrameBytes', '00000009 000102030405060708', 'FRAME_TOO_LARGE'],
    ['a length over maxFrameBytes without its payload', '7fffffff', 'FRAME_TOO_LARGE'],
    ['an extended length over maxFrameBytes', 'ffffffff 0000000000000009', 'FRAME_TOO_LARGE'],
    ['the largest extended length', 'ffffffff ffffffffffffffff', 'FRAME_TOO_LARGE'],
  ];
  for (const [name, message, code] of BAD) {
    it(`throws ${code} on ${name}`, () => {
      expect(() => decodeSingleFrame(hex(message), 8)).toThrow(expect.objectContaining({ code, name: 'FrameError' }));
    });
  }
});
