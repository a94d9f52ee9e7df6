/**
 * The encoded `"op"`, `"type"` and `"name"` of requests (fast-path.ts encodeRequestTarget), kept
 * per client by type and name so that every proxy of one object shares them. A proxy made per
 * use, as in `client.lock(name).acquire()`, would otherwise encode its targets afresh each time
 * (acquire and release, for a locked read-modify-write).
 */
import { encodeRequestTarget } from '../protocol/fast-path.js';

/** One object's targets, by operation. */
export class ObjectTargets {
  /** null: the op, type or name is not plain text, and such requests go through JSON. */
  private readonly byOp = new Map<string, Buffer | null>();

  constructor(
    private readonly type: string,
    private readonly name: string,
  ) {}

  /** The encoded target of `op` on this object; undefined when it has none. */
  get(op: string): Buffer | undefined {
    let target = this.byOp.get(op);
    if (target === undefined) {
      target = encodeRequestTarget(op, this.type, this.name) ?? null;
      this.byOp.set(op, target);
    }
    return target ?? undefined;
  }
}

/**
 * Objects whose targets are kept. Past this many the cache starts over rather than grow with a
 * client that names a new object per request (a lock per key of a large dict); a proxy keeps
 * the targets it already has.
 */
export const MAX_CACHED_OBJECTS = 1024;

export class RequestTargets {
  private readonly byType = new Map<string, Map<string, ObjectTargets>>();
  private objects = 0;

  /** The targets of object `name` of `type`, shared with every other proxy of it. */
  of(type: string, name: string): ObjectTargets {
    const known = this.byType.get(type)?.get(name);
    if (known !== undefined) return known;
    if (this.objects >= MAX_CACHED_OBJECTS) {
      this.byType.clear();
      this.objects = 0;
    }
    let byName = this.byType.get(type);
    if (byName === undefined) {
      byName = new Map();
      this.byType.set(type, byName);
    }
    const targets = new ObjectTargets(type, name);
    byName.set(name, targets);
    this.objects++;
    return targets;
  }

  /** How many objects' targets are kept (for tests). */
  get size(): number {
    return this.objects;
  }
}
