/**
 * Slows down key guessing: after {@link FREE_FAILURES} failed handshakes from a peer address,
 * the challenges that address is sent are spaced out, starting at {@link BASE_SPACING_MS} and
 * doubling with every further failure up to {@link MAX_SPACING_MS}. However many connections the
 * address opens, it gets one challenge per spacing, so at most 1000 / BASE_SPACING_MS tries a
 * second. A successful handshake from the address forgives its failures; so does
 * {@link FORGET_AFTER_MS} without one.
 */

/** Failures an address may have before its challenges are spaced out (typos, a wrong key file). */
export const FREE_FAILURES = 5;
/** Spacing after the free failures: at most 10 tries a second. */
export const BASE_SPACING_MS = 100;
/** Spacing never grows past this, so a client whose key was fixed is not kept waiting long. */
export const MAX_SPACING_MS = 2000;
/** An address without a failure for this long starts afresh. */
export const FORGET_AFTER_MS = 60_000;
/** Addresses remembered at most (about 200 bytes each); past this the least recently seen goes. */
const MAX_PEERS = 10_000;

interface PeerFailures {
  failures: number;
  lastFailureAt: number;
  /** When the next challenge may go out. */
  nextChallengeAt: number;
  /** Connections waiting for their challenge, first come first served. */
  waiting: Array<() => void>;
  timer: NodeJS.Timeout | undefined;
}

/** Time between two challenges to an address that has failed `failures` times. */
export function challengeSpacingMs(failures: number): number {
  if (failures < FREE_FAILURES) return 0;
  return Math.min(MAX_SPACING_MS, BASE_SPACING_MS * 2 ** Math.min(failures - FREE_FAILURES, 20));
}

export class AuthThrottle {
  /** Least recently seen first. */
  private readonly peers = new Map<string, PeerFailures>();

  /** Peers with failures on record (for tests and diagnostics). */
  get size(): number {
    return this.peers.size;
  }

  /**
   * Calls `challenge` once `peer` may be sent a challenge: at once for an address in good
   * standing. Returns a function that cancels the wait (the connection closed meanwhile).
   */
  whenAllowed(peer: string, challenge: () => void, now = Date.now()): () => void {
    this.forgetStale(now);
    const entry = this.peers.get(peer);
    if (entry === undefined) {
      challenge();
      return () => {};
    }
    if (entry.waiting.length === 0 && now >= entry.nextChallengeAt) {
      entry.nextChallengeAt = now + challengeSpacingMs(entry.failures);
      challenge();
      return () => {};
    }
    entry.waiting.push(challenge);
    this.schedule(entry, now);
    return () => {
      const index = entry.waiting.indexOf(challenge);
      if (index >= 0) entry.waiting.splice(index, 1);
    };
  }

  /** Records a failed handshake from `peer`. */
  failed(peer: string, now = Date.now()): void {
    let entry = this.peers.get(peer);
    if (entry === undefined) {
      entry = { failures: 0, lastFailureAt: now, nextChallengeAt: now, waiting: [], timer: undefined };
    }
    entry.failures += 1;
    entry.lastFailureAt = now;
    // Re-inserted: the Map's first entry is the least recently seen.
    this.peers.delete(peer);
    this.peers.set(peer, entry);
    if (this.peers.size > MAX_PEERS) this.drop(this.peers.keys().next().value as string);
  }

  /** A handshake from `peer` succeeded: the address knows the key, its failures are forgiven. */
  succeeded(peer: string): void {
    const entry = this.peers.get(peer);
    if (entry === undefined) return;
    this.drop(peer);
    for (const challenge of entry.waiting) challenge();
  }

  /** Stops every timer; waiting connections are left to their handshake deadline. */
  close(): void {
    for (const peer of [...this.peers.keys()]) this.drop(peer);
  }

  private schedule(entry: PeerFailures, now: number): void {
    if (entry.timer !== undefined) return;
    entry.timer = setTimeout(() => {
      entry.timer = undefined;
      const challenge = entry.waiting.shift();
      if (challenge === undefined) return;
      const at = Date.now();
      entry.nextChallengeAt = at + challengeSpacingMs(entry.failures);
      challenge();
      if (entry.waiting.length > 0) this.schedule(entry, at);
    }, Math.max(0, entry.nextChallengeAt - now));
    entry.timer.unref();
  }

  private drop(peer: string): void {
    const entry = this.peers.get(peer);
    if (entry === undefined) return;
    clearTimeout(entry.timer);
    this.peers.delete(peer);
  }

  /** Forgets the least recently seen address if it has been quiet long enough; amortized cleanup. */
  private forgetStale(now: number): void {
    for (let i = 0; i < 2; i++) {
      const first = this.peers.entries().next().value as [string, PeerFailures] | undefined;
      if (first === undefined) return;
      const [peer, entry] = first;
      if (entry.waiting.length > 0 || now - entry.lastFailureAt < FORGET_AFTER_MS) return;
      this.drop(peer);
    }
  }
}
