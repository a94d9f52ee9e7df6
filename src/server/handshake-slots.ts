/**
 * The budget of connections still in their handshake (docs/PROTOCOL.md §8): a limit for all of
 * them and one per peer address. A newcomer over a limit always gets a slot: it takes the one of
 * the oldest handshaking connection (of its own address, when that address is over its limit).
 *
 * Why evict the oldest rather than refuse the newest: a client that knows the key finishes its
 * handshake in a few round trips, so the oldest handshake is almost always one that is holding a
 * slot on purpose. Refusing newcomers lets anyone who holds idle sockets keep every legitimate
 * client out at no cost (and a minimum age before eviction fails the same way against an
 * attacker who reconnects as fast as it is cut: every slot stays young). Evicting the oldest
 * guarantees a newcomer the time it takes `limit` newer connections to arrive, which for a client
 * with the key is enough unless the attacker out-paces its round trips; the per-address limit
 * keeps one address from evicting the handshakes of others at all. A burst of legitimate clients
 * larger than the budget loses its earliest members instead of its latest, the same count.
 */

/** Default limit on connections in their handshake, all addresses together. */
export const DEFAULT_MAX_HANDSHAKES = 4096;
/** Default limit on connections in their handshake from one peer address (see {@link peerKey}). */
export const DEFAULT_MAX_HANDSHAKES_PER_ADDRESS = 1024;

/** One connection in its handshake. */
export interface HandshakeSlot {
  /** {@link peerKey} of the peer. */
  readonly peer: string;
  /** Closes the connection to free the slot (it must then call {@link HandshakeSlots.release}). */
  evict(): void;
}

export class HandshakeSlots {
  /** In the order they were taken: the first is the oldest. */
  private readonly all = new Set<HandshakeSlot>();
  private readonly byPeer = new Map<string, Set<HandshakeSlot>>();

  constructor(
    private readonly maxTotal: number,
    private readonly maxPerPeer: number,
  ) {}

  get size(): number {
    return this.all.size;
  }

  /** Takes a slot for `slot`, evicting the oldest handshake of a limit it would pass. */
  take(slot: HandshakeSlot): void {
    const mine = this.byPeer.get(slot.peer);
    if (mine !== undefined && mine.size >= this.maxPerPeer) this.evictOldest(mine);
    else if (this.all.size >= this.maxTotal) this.evictOldest(this.all);
    this.all.add(slot);
    const peerSlots = this.byPeer.get(slot.peer);
    if (peerSlots !== undefined) peerSlots.add(slot);
    else this.byPeer.set(slot.peer, new Set([slot]));
  }

  /** Frees the slot (idempotent): the handshake ended, whichever way. */
  release(slot: HandshakeSlot): void {
    if (!this.all.delete(slot)) return;
    const mine = this.byPeer.get(slot.peer)!;
    mine.delete(slot);
    if (mine.size === 0) this.byPeer.delete(slot.peer);
  }

  /**
   * Evicts the oldest handshake, for a newcomer that would pass another limit (--max-connections,
   * file descriptors). Returns false when there is none.
   */
  evictOldestOverall(): boolean {
    return this.evictOldest(this.all);
  }

  private evictOldest(slots: Set<HandshakeSlot>): boolean {
    const oldest = slots.values().next().value as HandshakeSlot | undefined;
    if (oldest === undefined) return false;
    this.release(oldest);
    oldest.evict();
    return true;
  }
}

/**
 * The address a peer is counted under: its IP for IPv4 (an IPv4-mapped IPv6 address counts as
 * its IPv4 address), its /64 network for IPv6 (one host is commonly given a whole /64, so counting
 * single IPv6 addresses would let one attacker count as billions of peers), `local` for Unix sockets.
 */
export function peerKey(remoteAddress: string | undefined): string {
  if (remoteAddress === undefined || remoteAddress === '') return 'local';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(remoteAddress);
  if (mapped !== null) return mapped[1]!;
  if (!remoteAddress.includes(':')) return remoteAddress;
  const [head = '', tail = ''] = remoteAddress.split('%')[0]!.toLowerCase().split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = remoteAddress.includes('::')
    ? [...headGroups, ...Array<string>(Math.max(0, 8 - headGroups.length - tailGroups.length)).fill('0'), ...tailGroups]
    : headGroups;
  return `${groups.slice(0, 4).map((group) => group.replace(/^0+(?=.)/, '')).join(':')}::/64`;
}
