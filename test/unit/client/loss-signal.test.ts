import { describe, expect, it } from 'vitest';
import { LossSignal } from '../../../src/client/proxies/base.js';
import { AbortError } from '../../../src/errors.js';

describe('LossSignal', () => {
  it('is not lost, and its signal not aborted, until lose()', () => {
    const loss = new LossSignal();
    expect(loss.lost).toBe(false);
    expect(loss.signal.aborted).toBe(false);
  });

  it('aborts a signal taken before the loss, once, with the first reason', () => {
    const loss = new LossSignal();
    const signal = loss.signal;
    const reasons: unknown[] = [];
    signal.addEventListener('abort', () => reasons.push(signal.reason));
    const first = new AbortError('lock "a" was lost: connection-closed');
    loss.lose(first);
    loss.lose(new AbortError('a later reason'));
    expect(loss.lost).toBe(true);
    expect(reasons).toEqual([first]);
    expect(loss.signal).toBe(signal);
  });

  it('hands a signal taken after the loss already aborted, with the reason', () => {
    const loss = new LossSignal();
    const reason = new AbortError('permit of "s" lost: session-timeout');
    loss.lose(reason);
    expect(loss.lost).toBe(true);
    expect(loss.signal.aborted).toBe(true);
    expect(loss.signal.reason).toBe(reason);
  });
});
