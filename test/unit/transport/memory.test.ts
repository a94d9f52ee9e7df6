/**
 * memoryChannelPair (src/transport/memory.ts): two connected channels without a socket. Frames
 * arrive in order on a later turn, pauses hold them, the frame limit applies, and end() and
 * destroy() close both ends as a socket's would.
 */
import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { FrameError } from '../../../src/errors.js';
import { encodeFrame } from '../../../src/protocol/frame.js';
import { PauseReason } from '../../../src/transport/channel.js';
import { type MemoryChannel, memoryChannelPair } from '../../../src/transport/memory.js';
import { until } from '../../helpers/until.js';

/** Collects what `channel` receives (copies), and how it closed. */
function record(channel: MemoryChannel): { frames: string[]; closed: Array<Error | undefined> } {
  const seen = { frames: [] as string[], closed: [] as Array<Error | undefined> };
  channel.setFrameHandler((payload) => seen.frames.push(payload.toString()));
  channel.onClose((err) => seen.closed.push(err));
  return seen;
}

describe('memoryChannelPair', () => {
  it('delivers each end\'s frames to the other, in order, on a later turn', async () => {
    const [a, b] = memoryChannelPair();
    const atA = record(a);
    const atB = record(b);
    a.send('one');
    a.send(Buffer.from('two'));
    a.sendFrame(encodeFrame('three'));
    b.send('back');
    expect(atB.frames).toEqual([]);
    await until(() => atB.frames.length === 3 && atA.frames.length === 1);
    expect(atB.frames).toEqual(['one', 'two', 'three']);
    expect(atA.frames).toEqual(['back']);
    expect(a.transport).toBe('memory');
  });

  it('holds frames while reading is paused, for any reason, and delivers them on resume', async () => {
    const [a, b] = memoryChannelPair();
    const atB = record(b);
    b.pauseReading(PauseReason.Handshake);
    b.pauseReading(PauseReason.Backpressure);
    a.send('held');
    a.send('too');
    await nextTurn();
    await nextTurn();
    expect(atB.frames).toEqual([]);
    b.resumeReading(PauseReason.Handshake);
    await nextTurn();
    expect(atB.frames).toEqual([]);
    b.resumeReading(PauseReason.Backpressure);
    await until(() => atB.frames.length === 2);
    expect(atB.frames).toEqual(['held', 'too']);
  });

  it('pausing from a frame handler holds the frames behind it', async () => {
    const [a, b] = memoryChannelPair();
    const frames: string[] = [];
    b.setFrameHandler((payload) => {
      frames.push(payload.toString());
      b.pauseReading(PauseReason.Handshake);
    });
    a.send('first');
    a.send('second');
    await until(() => frames.length === 1);
    await nextTurn();
    expect(frames).toEqual(['first']);
    b.resumeReading(PauseReason.Handshake);
    await until(() => frames.length === 2);
    expect(frames).toEqual(['first', 'second']);
  });

  it('reports a frame over the receiver\'s limit as FRAME_TOO_LARGE', async () => {
    const [a, b] = memoryChannelPair(4);
    const errors: FrameError[] = [];
    b.setFrameErrorHandler((err) => errors.push(err));
    a.send('12345');
    await until(() => errors.length === 1);
    expect(errors[0]).toBeInstanceOf(FrameError);
    expect(errors[0]!.code).toBe('FRAME_TOO_LARGE');
  });

  it('end(): what was sent arrives, then both ends close without an error', async () => {
    const [a, b] = memoryChannelPair();
    const atA = record(a);
    const atB = record(b);
    a.send('last words');
    a.end();
    a.send('after the end');
    await until(() => atA.closed.length === 1 && atB.closed.length === 1);
    expect(atB.frames).toEqual(['last words']);
    expect(atA.closed).toEqual([undefined]);
    expect(atB.closed).toEqual([undefined]);
    expect(a.isOpen || b.isOpen).toBe(false);
  });

  it('destroy(err): this end closes with err at once, the peer closes on a later turn', async () => {
    const [a, b] = memoryChannelPair();
    const atA = record(a);
    const atB = record(b);
    const reason = new Error('gone');
    a.destroy(reason);
    expect(atA.closed).toEqual([reason]);
    expect(b.isOpen).toBe(true);
    await until(() => atB.closed.length === 1);
    expect(atB.closed).toEqual([undefined]);
  });

  it('peerMoved() says whether bytes came or went since the last call', async () => {
    const [a, b] = memoryChannelPair();
    record(b);
    expect(b.peerMoved()).toBe(false);
    a.send('x');
    expect(b.peerMoved()).toBe(true);
    expect(b.peerMoved()).toBe(false);
    expect(a.peerMoved()).toBe(false);
    await until(() => a.peerMoved());
  });
});
