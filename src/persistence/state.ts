/**
 * What of each object type survives a restart, and how it is read out of and put back into the
 * object states. The one module that knows the states' insides for persistence: snapshots and
 * dumps capture through it, and the log replays through it.
 *
 * An object's image is its type, name, creation parameters (`init`), a small `meta` value and its
 * bulk `items` (dict: [key, value] pairs; list and queue: the items). Lock holders, waiters and
 * sessions are never part of it: a restart releases them.
 */
import { OperationError, ReplayError } from '../errors.js';
import type { ObjectImage } from '../protocol/dump.js';
import type { AnyEffect } from '../core/effects.js';
import type { Store, SharedObject } from '../core/store.js';
import { MAX_NAME_LENGTH } from '../protocol/message.js';


export { ReplayError };

/**
 * An object captured at one instant, cheaply: containers are copied shallowly (stored values are
 * never mutated in place, so sharing them is safe) and turned into JSON later, in slices, so a
 * snapshot of a large dict does not hold the event loop.
 */
export interface CapturedObject {
  readonly type: string;
  readonly name: string;
  readonly init: Record<string, unknown> | null;
  readonly meta: unknown;
  /** Whether the type has bulk contents (an image then has `items`, even when empty). */
  readonly hasItems: boolean;
  /** Number of items (0 for types without items). */
  readonly count: number;
  /** Items `start` to `end - 1` in image form. */
  slice(start: number, end: number): unknown[];
}

/** Captures one object, through its type's `capture`. */
export function captureObject(name: string, object: SharedObject): CapturedObject {
  const type = object.type;
  // A type without `capture`: its existence survives, its state does not.
  const captured = type.capture?.(object.state) ?? { init: null, meta: null };
  const items = captured.items;
  return {
    type: type.name,
    name,
    init: captured.init,
    meta: captured.meta,
    hasItems: items !== undefined,
    count: items?.count ?? 0,
    slice: items === undefined ? () => [] : (start, end) => items.slice(start, end),
  };
}

/** Captures every object, in creation order. Synchronous: one consistent instant. */
export function captureAll(registry: Store): CapturedObject[] {
  const captured: CapturedObject[] = [];
  for (const [name, object] of registry.entries()) captured.push(captureObject(name, object));
  return captured;
}

/** The whole image of a captured object (for dumps: the items in one array). */
export function toImage(captured: CapturedObject): ObjectImage {
  const { type, name, init, meta } = captured;
  return { type, name, init, meta, items: captured.hasItems ? captured.slice(0, captured.count) : null };
}

/**
 * Puts `meta` and `items` into a freshly created object (a snapshot's or a restore's contents),
 * through its type's `fill`: `meta` is applied when not undefined; `items` are appended.
 * @throws ReplayError when they do not fit the type.
 */
export function fillObject(registry: Store, name: string, meta: unknown, items: readonly unknown[] | null): void {
  const object = registry.peek(name);
  if (object === undefined) throw new ReplayError(`no object named ${JSON.stringify(name)}`);
  object.type.fill?.(object.state, meta, items);
}

/**
 * Replays one logged effect onto the store, publishing nothing.
 * @throws ReplayError when the effect does not apply: the log is damaged or out of order.
 */
export function applyEffect(registry: Store, effect: AnyEffect): void {
  if (!Array.isArray(effect)) throw new ReplayError('an effect must be an array');
  try {
    registry.replay(effect);
  } catch (err) {
    if (err instanceof ReplayError) throw err;
    // A creation the type refuses (a bad `init`), or an unknown type.
    if (effect[0] === 'create') throw new ReplayError(`cannot create ${String(effect[1])} ${JSON.stringify(effect[2])}: ${(err as Error).message}`);
    throw new ReplayError(`${JSON.stringify(effect[0])} on ${JSON.stringify(effect[1])}: ${(err as Error).message}`);
  }
}

/**
 * Checks a dump's object list (untrusted input of the `restore` operation).
 * @throws OperationError INVALID_ARGUMENT naming the first bad entry.
 */
export function parseImages(value: unknown): ObjectImage[] {
  const bad = (index: number, why: string): OperationError =>
    new OperationError('INVALID_ARGUMENT', `restore: object #${index} ${why}`, { index });
  if (!Array.isArray(value)) throw new OperationError('INVALID_ARGUMENT', 'restore: "objects" must be an array');
  const seen = new Set<string>();
  return value.map((entry, index): ObjectImage => {
    if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) throw bad(index, 'must be an object');
    const { type, name, init, meta, items } = entry as Record<string, unknown>;
    if (typeof type !== 'string' || type.length === 0) throw bad(index, 'needs a "type"');
    if (typeof name !== 'string' || name.length === 0 || name.length > MAX_NAME_LENGTH) throw bad(index, `needs a "name" of 1 to ${MAX_NAME_LENGTH} characters`);
    if (seen.has(name)) throw bad(index, `repeats the name ${JSON.stringify(name)}`);
    seen.add(name);
    if (init !== undefined && init !== null && (typeof init !== 'object' || Array.isArray(init))) throw bad(index, '"init" must be an object or null');
    if (items !== undefined && items !== null && !Array.isArray(items)) throw bad(index, '"items" must be an array or null');
    return { type, name, init: (init ?? null) as Record<string, unknown> | null, meta: meta ?? null, items: (items ?? null) as unknown[] | null };
  });
}
