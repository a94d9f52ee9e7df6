/**
 * Log lines about unauthenticated peers, folded per peer address: each address may write a burst
 * of {@link BURST_LINES} lines as events happen, then one line per {@link REPEAT_LOG_INTERVAL_MS};
 * events past that are counted and written as one summary line per interval. A peer that fails
 * a thousand times a second thus costs about one line a second, not a thousand, while an
 * occasional mistake is still logged line by line.
 */

/** Time in which an address earns one more line. */
export const REPEAT_LOG_INTERVAL_MS = 1000;
/** Lines an address may write in a row before it is held to one per interval. */
export const BURST_LINES = 5;
/** Addresses remembered at most; past this the least recently heard is summed up and forgotten. */
const MAX_PEERS = 10_000;

interface PeerLines {
  /** Lines the address may still write now (a token bucket, refilled one per interval). */
  tokens: number;
  refilledAt: number;
  /** Events not written yet, by description ("more authentication failures"). */
  counts: Map<string, number>;
  countingSince: number;
}

export class RepeatLog {
  /** Least recently heard first. */
  private readonly peers = new Map<string, PeerLines>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly write: (line: string) => void) {}

  /**
   * Writes `line` about `peer`, or counts it under `kind` (e.g. "more handshake timeouts") when
   * the address has used up its lines.
   */
  note(peer: string, kind: string, line: string, now = Date.now()): void {
    let entry = this.peers.get(peer);
    if (entry === undefined) entry = { tokens: BURST_LINES, refilledAt: now, counts: new Map(), countingSince: now };
    this.refill(entry, now);
    // Re-inserted so that the Map's first entry is the least recently heard.
    this.peers.delete(peer);
    this.peers.set(peer, entry);
    if (this.peers.size > MAX_PEERS) this.forget(this.peers.keys().next().value as string, now);
    if (entry.counts.size === 0 && entry.tokens >= 1) {
      entry.tokens -= 1;
      this.write(line);
      return;
    }
    if (entry.counts.size === 0) entry.countingSince = now;
    entry.counts.set(kind, (entry.counts.get(kind) ?? 0) + 1);
    this.timer ??= setTimeout(() => this.flush(), REPEAT_LOG_INTERVAL_MS).unref();
  }

  /**
   * Writes the summaries due, and forgets addresses with nothing to say and a full bucket (the
   * others are forgotten by a later flush, or as the least recently heard past MAX_PEERS).
   */
  flush(now = Date.now()): void {
    this.timer = undefined;
    for (const [peer, entry] of this.peers) {
      this.refill(entry, now);
      if (entry.counts.size > 0 && entry.tokens >= 1) {
        entry.tokens -= 1;
        this.writeSummary(peer, entry, now);
      }
      if (entry.counts.size > 0) this.timer ??= setTimeout(() => this.flush(), REPEAT_LOG_INTERVAL_MS).unref();
      else if (entry.tokens >= BURST_LINES) this.peers.delete(peer);
    }
  }

  /** Stops the timer after writing every count still held. */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const peer of [...this.peers.keys()]) this.forget(peer, Date.now());
  }

  private refill(entry: PeerLines, now: number): void {
    const earned = (now - entry.refilledAt) / REPEAT_LOG_INTERVAL_MS;
    entry.tokens = Math.min(BURST_LINES, entry.tokens + earned);
    entry.refilledAt = now;
  }

  private forget(peer: string, now: number): void {
    const entry = this.peers.get(peer)!;
    if (entry.counts.size > 0) this.writeSummary(peer, entry, now);
    this.peers.delete(peer);
  }

  private writeSummary(peer: string, entry: PeerLines, now: number): void {
    const what = [...entry.counts].map(([kind, count]) => `${count} ${kind}`).join(', ');
    this.write(`${peer}: ${what} in the last ${((now - entry.countingSince) / 1000).toFixed(1)} s`);
    entry.counts.clear();
  }
}
