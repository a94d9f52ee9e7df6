/** The pure parts of admission control: handshake slots, peer keys, challenge spacing, folded logs, origins. */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AuthThrottle, BASE_SPACING_MS, challengeSpacingMs, FORGET_AFTER_MS, FREE_FAILURES, MAX_SPACING_MS } from '../../../src/server/auth-throttle.js';
import { type HandshakeSlot, HandshakeSlots, peerKey } from '../../../src/server/handshake-slots.js';
import { BURST_LINES, REPEAT_LOG_INTERVAL_MS, RepeatLog } from '../../../src/server/repeat-log.js';
import { isAllowedOrigin, normalizeOrigin } from '../../../src/server/ws-origin.js';

describe('HandshakeSlots', () => {
  const slot = (peer: string, evicted: string[], name: string): HandshakeSlot => ({ peer, evict: () => evicted.push(name) });

  it('evicts the oldest of all when the total is reached', () => {
    const evicted: string[] = [];
    const slots = new HandshakeSlots(2, 10);
    slots.take(slot('a', evicted, 'a1'));
    slots.take(slot('b', evicted, 'b1'));
    slots.take(slot('c', evicted, 'c1'));
    expect(evicted).toEqual(['a1']);
    expect(slots.size).toBe(2);
  });

  it('evicts the oldest of the same address when that address is at its limit, leaving others alone', () => {
    const evicted: string[] = [];
    const slots = new HandshakeSlots(10, 2);
    slots.take(slot('other', evicted, 'o1'));
    slots.take(slot('a', evicted, 'a1'));
    slots.take(slot('a', evicted, 'a2'));
    slots.take(slot('a', evicted, 'a3'));
    expect(evicted).toEqual(['a1']);
  });

  it('frees a released slot once, and evicts nothing when empty', () => {
    const evicted: string[] = [];
    const slots = new HandshakeSlots(1, 1);
    const first = slot('a', evicted, 'a1');
    slots.take(first);
    slots.release(first);
    slots.release(first);
    expect(slots.size).toBe(0);
    expect(slots.evictOldestOverall()).toBe(false);
    expect(evicted).toEqual([]);
  });
});

describe('peerKey', () => {
  it.each([
    ['127.0.0.2', '127.0.0.2'],
    ['::ffff:10.1.2.3', '10.1.2.3'],
    ['2001:db8:1:2:3:4:5:6', '2001:db8:1:2::/64'],
    ['2001:db8::1', '2001:db8:0:0::/64'],
    ['2001:0db8:0001:0002::9%eth0', '2001:db8:1:2::/64'],
    ['::1', '0:0:0:0::/64'],
    [undefined, 'local'],
  ])('counts %s as %s', (address, key) => {
    expect(peerKey(address)).toBe(key);
  });
});

describe('AuthThrottle', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('spaces nothing for the free failures, then 100 ms doubling up to 2 s', () => {
    expect(challengeSpacingMs(FREE_FAILURES - 1)).toBe(0);
    expect(challengeSpacingMs(FREE_FAILURES)).toBe(BASE_SPACING_MS);
    expect(challengeSpacingMs(FREE_FAILURES + 1)).toBe(2 * BASE_SPACING_MS);
    expect(challengeSpacingMs(FREE_FAILURES + 100)).toBe(MAX_SPACING_MS);
  });

  it('gives a failing address one challenge per spacing, however many connections wait, and other addresses none', () => {
    const throttle = new AuthThrottle();
    for (let i = 0; i < FREE_FAILURES; i++) throttle.failed('bad');
    const challenged: number[] = [];
    const start = Date.now();
    for (let i = 0; i < 5; i++) throttle.whenAllowed('bad', () => challenged.push(Date.now() - start));
    let good = false;
    throttle.whenAllowed('good', () => (good = true));
    expect(good).toBe(true);
    vi.advanceTimersByTime(1000);
    expect(challenged).toEqual([0, 100, 200, 300, 400]);
    throttle.close();
  });

  it('forgives an address on success, releasing its waiting connections, and after a quiet minute', () => {
    const throttle = new AuthThrottle();
    for (let i = 0; i < FREE_FAILURES + 3; i++) throttle.failed('a');
    let calls = 0;
    throttle.whenAllowed('a', () => calls++);
    throttle.whenAllowed('a', () => calls++);
    expect(calls).toBe(1);
    throttle.succeeded('a');
    expect(calls).toBe(2);
    expect(throttle.size).toBe(0);
    for (let i = 0; i < FREE_FAILURES + 3; i++) throttle.failed('b');
    vi.advanceTimersByTime(FORGET_AFTER_MS + 1);
    throttle.whenAllowed('b', () => calls++);
    expect(calls).toBe(3);
    expect(throttle.size).toBe(0);
  });

  it('does not call a cancelled wait', () => {
    const throttle = new AuthThrottle();
    for (let i = 0; i < FREE_FAILURES; i++) throttle.failed('a');
    throttle.whenAllowed('a', () => {});
    let called = false;
    const cancel = throttle.whenAllowed('a', () => (called = true));
    cancel();
    vi.advanceTimersByTime(10_000);
    expect(called).toBe(false);
  });
});

describe('RepeatLog', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('writes a burst, then one summary line a second with the counts, per address', () => {
    const lines: string[] = [];
    const log = new RepeatLog((line) => lines.push(line));
    for (let second = 0; second < 10; second++) {
      for (let i = 0; i < 1000; i++) log.note('1.2.3.4', 'more failures', `failure ${second}.${i}`);
      vi.advanceTimersByTime(REPEAT_LOG_INTERVAL_MS);
    }
    log.note('5.6.7.8', 'more failures', 'another address');
    expect(lines.filter((line) => line.startsWith('failure'))).toHaveLength(BURST_LINES);
    const summaries = lines.filter((line) => line.startsWith('1.2.3.4: '));
    expect(summaries.length).toBeLessThanOrEqual(10);
    expect(summaries.length).toBeGreaterThanOrEqual(9);
    expect(summaries[0]).toMatch(/^1\.2\.3\.4: \d+ more failures in the last/);
    expect(lines.at(-1)).toBe('another address');
    log.close();
  });
});

describe('WebSocket origins', () => {
  it('accepts no Origin, its own loopback origins and the allowed ones; nothing else', () => {
    const allowed = [normalizeOrigin('https://App.Example:443')];
    expect(allowed).toEqual(['https://app.example']);
    expect(isAllowedOrigin(undefined, 8080, allowed)).toBe(true);
    expect(isAllowedOrigin('http://localhost:8080', 8080, allowed)).toBe(true);
    expect(isAllowedOrigin('https://[::1]:8080', 8080, allowed)).toBe(true);
    expect(isAllowedOrigin('https://app.example', 8080, allowed)).toBe(true);
    expect(isAllowedOrigin('http://localhost:8081', 8080, allowed)).toBe(false);
    expect(isAllowedOrigin('null', 8080, allowed)).toBe(false);
    expect(isAllowedOrigin('http://evil.example', 8080, allowed)).toBe(false);
  });

  it('refuses an allow-list entry that is not an origin', () => {
    expect(() => normalizeOrigin('app.example')).toThrow(expect.objectContaining({ code: 'CONFIG_ERROR' }));
    expect(() => normalizeOrigin('https://app.example/path')).toThrow(expect.objectContaining({ code: 'CONFIG_ERROR' }));
  });
});
