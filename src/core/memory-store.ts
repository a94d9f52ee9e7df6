/**
 * Named shared objects. One namespace for all types: a name belongs to the type it was first used
 * with, and using it as another type is a WRONG_TYPE error.
 */
import type { Mutex } from 'async-mutex';
import { OperationError } from '../errors.js';
import { barrierType } from './objects/barrier.js';
import { conditionType } from './objects/condition.js';
import { dictType } from './objects/dict.js';
import { eventType } from './objects/event.js';
import { listType } from './objects/list.js';
import { lockTypes } from './objects/lock.js';
import { queueType } from './objects/queue.js';
import { semaphoreTypes } from './objects/semaphore.js';
import type { Journal } from './effects.js';
import type { ObjectLookup, ObjectType } from './objects/types.js';

/** The types a server serves unless told otherwise. */
export const BUILTIN_TYPES: readonly ObjectType<any>[] = [
  dictType,
  listType,
  lockTypes.lock,
  lockTypes.rlock,
  semaphoreTypes.semaphore,
  semaphoreTypes.boundedSemaphore,
  eventType,
  conditionType,
  barrierType,
  queueType,
];

/**
 * What a server with `--max-memory` or `--max-objects` checks before an operation runs
 * (server/storage-limits.ts implements it: reading memory use is I/O the core does not do).
 */
export interface AdmissionLimits {
  /** @throws OperationError OUT_OF_MEMORY or TOO_MANY_OBJECTS when `op` must be refused now. */
  check(type: ObjectType<any>, op: string, creating: boolean, objectCount: number): void;
  readonly memory?: { readonly over: boolean } | undefined;
}

export interface SharedObject {
  readonly type: ObjectType<any>;
  readonly state: unknown;
  /** Created on the first awaiting operation; see dispatch.ts. */
  mutex?: Mutex;
}

export class Registry implements ObjectLookup {
  private readonly types = new Map<string, ObjectType<any>>();
  private readonly objects = new Map<string, SharedObject>();
  /** Set by a persisting server before any object exists: new objects keep it (core/effects.ts). */
  journal: Journal | undefined;
  /** Set by a server with --max-memory or --max-objects; checked by dispatch, not by replay. */
  limits: AdmissionLimits | undefined;

  constructor(types: readonly ObjectType<any>[] = BUILTIN_TYPES) {
    for (const type of types) this.types.set(type.name, type);
  }

  /**
   * The object `name` of type `typeName`, created on first use from `init`. `onCreate` runs when
   * this call created it (an atomic batch uses it to undo the creation).
   * @throws OperationError UNKNOWN_TYPE; WRONG_TYPE when `name` holds another type;
   *   INVALID_ARGUMENT when `init` is invalid or contradicts the existing object.
   */
  resolve(typeName: string, name: string, init?: unknown, onCreate?: () => void): SharedObject {
    const existing = this.objects.get(name);
    if (existing !== undefined) {
      if (existing.type.name !== typeName) {
        this.typeOf(typeName); // an unknown type is reported as such, not as a mismatch
        throw new OperationError(
          'WRONG_TYPE',
          `${JSON.stringify(name)} is a ${existing.type.name}, not a ${typeName}: use another name or the ${existing.type.name} API`,
          { name, type: existing.type.name },
        );
      }
      if (init !== undefined) existing.type.checkInit?.(existing.state, init, name);
      return existing;
    }
    const type = this.typeOf(typeName);
    const created: SharedObject = { type, state: type.create(init, name, this) };
    this.objects.set(name, created);
    this.journal?.add(['create', typeName, name, init ?? null]);
    onCreate?.();
    return created;
  }

  /** The object named `name`, if it exists; creates nothing. */
  peek(name: string): SharedObject | undefined {
    return this.objects.get(name);
  }

  /** {@link ObjectLookup}: lets a condition share a named lock. */
  stateOf(type: string, name: string): unknown {
    return this.resolve(type, name).state;
  }

  /** Removes `name` (used to undo a creation). */
  delete(name: string): void {
    this.objects.delete(name);
  }

  /** Number of named objects. */
  get size(): number {
    return this.objects.size;
  }

  /** Every object by name, in creation order (a condition after the lock it shares). */
  entries(): IterableIterator<[string, SharedObject]> {
    return this.objects.entries();
  }

  /** The type named `typeName`. @throws OperationError UNKNOWN_TYPE. */
  typeOf(typeName: string): ObjectType<any> {
    const type = this.types.get(typeName);
    if (type === undefined) {
      throw new OperationError('UNKNOWN_TYPE', `unknown object type ${JSON.stringify(typeName)}; known types: ${[...this.types.keys()].join(', ')}`);
    }
    return type;
  }
}
