/**
 * `--max-memory` and `--max-objects`: refuse what would make the server hold more, and keep
 * serving everything else (reads, deletes, releases), as Redis's `maxmemory` with `noeviction`.
 *
 * Memory use is what V8 accounts for: the heap in use plus the external memory it tracks. Stored
 * values are objects and strings on the heap, except long strings, which Node makes external
 * (a 1 MiB string read from a request's bytes lives outside the heap). RSS was not taken: it also
 * counts memory V8 keeps after freeing, and never goes down when values are deleted. The figure
 * includes buffers in flight as well, which other limits bound. It is read on a timer, never per
 * request: dispatch only reads {@link MemoryLimit.over}. The heap also holds garbage not yet
 * collected, which V8 may leave there indefinitely when little is allocated (100 MB of deleted
 * values stayed counted for 10 s under 10,000 small requests/s). So before declaring the limit
 * crossed, and after a client frees something while over it, the figure is confirmed by a full
 * collection, at most once per {@link MIN_COLLECTION_INTERVAL_MS}: only in that state does the
 * server pay for one.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { OperationError } from '../errors.js';
import type { ObjectType } from '../core/object-type.js';

/** How often the heap is read. A burst may overshoot the limit by what clients write meanwhile. */
const SAMPLE_EVERY_MS = 100;
/** Fewest milliseconds between two collections forced to confirm the figure. */
const MIN_COLLECTION_INTERVAL_MS = 1000;

/** A full garbage collection, exposed once for the whole process. */
let collect: (() => void) | undefined;
function collectGarbage(): void {
  if (collect === undefined) {
    const exposed = (globalThis as { gc?: () => void }).gc;
    if (exposed !== undefined) collect = exposed;
    else {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as () => void;
    }
  }
  collect();
}

function mib(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

export class MemoryLimit {
  /** Whether memory use is over the limit: writes that add data are refused. */
  over = false;
  /** Set by dispatch when an operation that frees data ran while {@link over}. */
  freed = false;
  private timer: NodeJS.Timeout | undefined;
  private lastCollection = -Infinity;
  /** Set when the last sample collected garbage: the next one decides. */
  private collected = false;

  constructor(
    readonly maxBytes: number,
    private readonly log: (line: string) => void,
    private readonly heapUsed: () => number = () => {
      const heap = getHeapStatistics();
      return heap.used_heap_size + heap.external_memory;
    },
  ) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), SAMPLE_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Reads memory use and moves between under and over, logging each crossing once. */
  sample(): void {
    const used = this.heapUsed();
    if (this.collected) {
      // Read one sample after the collection, not right after it: V8 frees the memory of dead
      // buffers on background threads, and under load a reading taken at once still counts them.
      this.collected = false;
      this.decide(used);
      return;
    }
    if (this.over ? this.freed : used > this.maxBytes) {
      // Garbage may make up the reading, and once over the server stays so until a client frees
      // something: a crossing is decided only on a reading that follows a collection. Until one
      // may run, writes go on: the overshoot the timer allows anyway.
      if (performance.now() - this.lastCollection < MIN_COLLECTION_INTERVAL_MS) return;
      this.freed = false;
      this.lastCollection = performance.now();
      collectGarbage();
      this.collected = true;
      return;
    }
    if (this.over) this.decide(used);
  }

  /** Moves between under and over on `used`, logging each crossing once. */
  private decide(used: number): void {
    if (!this.over && used > this.maxBytes) {
      this.over = true;
      this.log(`warning: memory use ${mib(used)} is over --max-memory ${mib(this.maxBytes)}: refusing writes that add data (OUT_OF_MEMORY) until it is back under; reads, deletes and releases are served`);
    } else if (this.over && used <= this.maxBytes) {
      this.over = false;
      this.log(`warning: memory use ${mib(used)} is back under --max-memory ${mib(this.maxBytes)}: writes are accepted again`);
    }
  }

}

/** What a server with `--max-memory` or `--max-objects` checks before an operation runs. */
export class StorageLimits {
  constructor(
    readonly memory: MemoryLimit | undefined,
    readonly maxObjects: number | undefined,
  ) {}

  /**
   * Throws when `op` on `type` would hold more than the limits allow; `creating` when the request
   * would create its object.
   * @throws OperationError OUT_OF_MEMORY, TOO_MANY_OBJECTS.
   */
  check(type: ObjectType<any>, op: string, creating: boolean, objectCount: number): void {
    const memory = this.memory;
    if (memory?.over === true) {
      if (creating || type.growingOps?.has(op) === true) {
        throw new OperationError(
          'OUT_OF_MEMORY',
          `the server is over its memory limit (--max-memory ${mib(memory.maxBytes)}): ${creating ? `creating a ${type.name}` : `${type.name}.${op}`} is refused until data is deleted; reads, deletes and releases are served`,
        );
      }
      if (type.freeingOps?.has(op) === true) memory.freed = true;
    }
    if (creating && this.maxObjects !== undefined && objectCount >= this.maxObjects) {
      throw new OperationError(
        'TOO_MANY_OBJECTS',
        `the server holds its limit of ${this.maxObjects} objects (--max-objects): use an existing object, or ask for a higher limit`,
      );
    }
  }
}
