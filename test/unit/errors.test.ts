/**
 * The error tree: the errors the wire and persistence layers raise are SyncmgrErrors with stable
 * codes, and the names their modules have always exported are the same classes.
 */
import { describe, expect, it } from 'vitest';
import * as errors from '../../src/errors.js';
import { PersistenceError, SyncmgrError } from '../../src/errors.js';
import { FrameDecoder, FrameError, decodeSingleFrame } from '../../src/protocol/frame.js';
import { MessageError, parseRequest, parseServerMessage } from '../../src/protocol/message.js';
import { applyEffect, ReplayError } from '../../src/persistence/state.js';
import { Registry } from '../../src/server/registry.js';

/** What `run` threw. */
function thrown(run: () => unknown): unknown {
  try {
    run();
  } catch (err) {
    return err;
  }
  throw new Error('expected a throw');
}

describe('FrameError', () => {
  it('is a SyncmgrError with code FRAME_TOO_LARGE for a length over the limit', () => {
    const decoder = new FrameDecoder(8, () => {});
    const err = thrown(() => decoder.push(Buffer.from('00000009', 'hex')));
    expect(err).toBeInstanceOf(FrameError);
    expect(err).toBeInstanceOf(SyncmgrError);
    expect(err).toMatchObject({ code: 'FRAME_TOO_LARGE', name: 'FrameError' });
  });

  it('has code PROTOCOL_ERROR for a negative length', () => {
    const err = thrown(() => decodeSingleFrame(Buffer.from('fffffffe', 'hex'), 8));
    expect(err).toBeInstanceOf(SyncmgrError);
    expect(err).toMatchObject({ code: 'PROTOCOL_ERROR', name: 'FrameError' });
  });
});

describe('MessageError', () => {
  it('is a SyncmgrError with code BAD_REQUEST and the request id', () => {
    const err = thrown(() => parseRequest(Buffer.from('{"id": 7, "op": 3, "args": []}')));
    expect(err).toBeInstanceOf(MessageError);
    expect(err).toBeInstanceOf(SyncmgrError);
    expect(err).toMatchObject({ code: 'BAD_REQUEST', id: 7, name: 'MessageError' });
  });

  it('has code PROTOCOL_ERROR for a frame that is not JSON', () => {
    const err = thrown(() => parseServerMessage(Buffer.from('not json')));
    expect(err).toBeInstanceOf(SyncmgrError);
    expect(err).toMatchObject({ code: 'PROTOCOL_ERROR', id: null, name: 'MessageError' });
  });

  it('has code INVALID_ARGUMENT for a number JSON reads as Infinity', () => {
    const err = thrown(() => parseRequest(Buffer.from('{"id": 1, "op": "set", "type": "dict", "name": "d", "args": ["k", 1e400]}')));
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', id: 1 });
  });
});

describe('ReplayError', () => {
  it('is a PersistenceError with code DATA_CORRUPT', () => {
    const err = thrown(() => applyEffect(new Registry(), ['no such effect'] as never));
    expect(err).toBeInstanceOf(ReplayError);
    expect(err).toBeInstanceOf(PersistenceError);
    expect(err).toBeInstanceOf(SyncmgrError);
    expect(err).toMatchObject({ code: 'DATA_CORRUPT', name: 'ReplayError' });
    expect((err as Error).message).toMatch(/no object named/);
  });
});

describe('the old homes of the error classes', () => {
  it('export the classes of the error tree, not copies', () => {
    expect(FrameError).toBe(errors.FrameError);
    expect(MessageError).toBe(errors.MessageError);
    expect(ReplayError).toBe(errors.ReplayError);
  });
});
