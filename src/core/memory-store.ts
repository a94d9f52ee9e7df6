/**
 * Named shared objects, in memory. One namespace for all types: a name belongs to the type it was
 * first used with, and using it as another type is a WRONG_TYPE error.
 */
import { ConfigurationError, OperationError } from '../errors.js';
import { ChangeStream } from './change-stream.js';
import { type AnyEffect, ReplayError } from './effects.js';
import { barrierType } from './objects/barrier.js';
import { conditionType } from './objects/condition.js';
import { dictType } from './objects/dict.js';
import { eventType } from './objects/event.js';
import { listType } from './objects/list.js';
import { lockTypes } from './objects/lock.js';
import { queueType } from './objects/queue.js';
import { semaphoreTypes } from './objects/semaphore.js';
import type { ObjectType } from './object-type.js';
import type { AdmissionLimits, SharedObject, Store } from './store.js';
import { NO_SESSION, Tx } from './tx.js';
import type { SessionHandle } from './waiting.js';

export type { AdmissionLimits, SharedObject } from './store.js';

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

export class MemoryStore implements Store {
  private readonly types = new Map<string, ObjectType<any>>();
  private readonly objects = new Map<string, SharedObject>();
  readonly changes = new ChangeStream();
  limits: AdmissionLimits | undefined;
  /** Applies what is already recorded: publishes nothing, keeps no inverse. */
  private readonly loading: Tx = new Tx(this, NO_SESSION, null, false, false, false);

  constructor(types: readonly ObjectType<any>[] = BUILTIN_TYPES) {
    for (const type of types) this.register(type);
  }

  register(type: ObjectType<any>): void {
    if (this.types.has(type.name)) throw new ConfigurationError(`an object type named ${JSON.stringify(type.name)} is served already: give yours another name`);
    this.types.set(type.name, type);
  }

  resolve(typeName: string, name: string, init?: unknown, tx: Tx = this.loading): SharedObject {
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
    this.typeOf(typeName);
    tx.emit(['create', typeName, name, init ?? null]);
    return this.objects.get(name)!;
  }

  peek(name: string): SharedObject | undefined {
    return this.objects.get(name);
  }

  get size(): number {
    return this.objects.size;
  }

  entries(): IterableIterator<[string, SharedObject]> {
    return this.objects.entries();
  }

  typeOf(typeName: string): ObjectType<any> {
    const type = this.types.get(typeName);
    if (type === undefined) {
      throw new OperationError('UNKNOWN_TYPE', `unknown object type ${JSON.stringify(typeName)}; known types: ${[...this.types.keys()].join(', ')}`);
    }
    return type;
  }

  begin(session: SessionHandle = NO_SESSION, requestId: unknown = null, atomic = false, undoable = atomic): Tx {
    return new Tx(this, session, requestId, atomic, undoable);
  }

  apply(effect: AnyEffect, undoable: boolean, tx: Tx): AnyEffect | undefined {
    const kind = effect[0];
    if (kind === 'create') return this.create(effect, tx);
    if (kind === 'drop') {
      // The inverse of a creation, never published.
      this.objects.delete(effect[1] as string);
      return undefined;
    }
    const name = effect[1];
    const target = tx.target;
    const object = target !== undefined && target.name === name ? target : this.objects.get(name as string);
    if (object === undefined) throw new ReplayError(`no object named ${JSON.stringify(name)}`);
    if (kind === 'fill') {
      // Only ever applied to an object created in the same transaction: undone by dropping it.
      object.type.fill?.(object.state, effect[2], (effect[3] ?? null) as unknown[] | null);
      return undefined;
    }
    if (object.type.apply === undefined) throw new ReplayError(`${JSON.stringify(name)} is a ${object.type.name}, which has no change ${JSON.stringify(kind)}`);
    return object.type.apply(object.state, effect, undoable);
  }

  get recordsEffects(): boolean {
    return this.changes.active;
  }

  commit(effects: readonly AnyEffect[] | undefined): void {
    this.changes.publish(effects);
  }

  replay(effect: AnyEffect): void {
    this.loading.emit(effect);
  }

  private create(effect: AnyEffect, tx: Tx): AnyEffect | undefined {
    const [, typeName, name, init] = effect as readonly [string, string, string, unknown];
    const type = this.types.get(typeName);
    if (type === undefined) throw new ReplayError(`cannot create ${typeName} ${JSON.stringify(name)}: unknown object type`);
    const existing = this.objects.get(name);
    if (existing !== undefined) {
      // A replayed log may create a condition's shared lock before the condition names it.
      if (existing.type !== type) throw new ReplayError(`cannot create ${typeName} ${JSON.stringify(name)}: it is a ${existing.type.name}`);
      return undefined;
    }
    const created: SharedObject = { name, type, state: type.create(init ?? undefined, name, tx) };
    this.objects.set(name, created);
    return ['drop', name];
  }
}

/** The in-memory store under its former name. */
export { MemoryStore as Registry };
