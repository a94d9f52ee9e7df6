/**
 * Named shared objects. One namespace for all types: a name belongs to the type it was first used
 * with, and using it as another type is a WRONG_TYPE error.
 */
import type { Mutex } from 'async-mutex';
import { OperationError } from '../errors.js';
import { dictType } from './objects/dict.js';
import type { ObjectType } from './objects/types.js';

/** The types a server serves unless told otherwise. */
export const BUILTIN_TYPES: readonly ObjectType<any>[] = [dictType];

export interface SharedObject {
  readonly type: ObjectType<any>;
  readonly state: unknown;
  /** Created on the first awaiting operation; see dispatch.ts. */
  mutex?: Mutex;
}

export class Registry {
  private readonly types = new Map<string, ObjectType<any>>();
  private readonly objects = new Map<string, SharedObject>();

  constructor(types: readonly ObjectType<any>[] = BUILTIN_TYPES) {
    for (const type of types) this.types.set(type.name, type);
  }

  /**
   * The object `name` of type `typeName`, created empty on first use.
   * @throws OperationError UNKNOWN_TYPE, or WRONG_TYPE when `name` holds another type.
   */
  resolve(typeName: string, name: string): SharedObject {
    const existing = this.objects.get(name);
    if (existing !== undefined) {
      if (existing.type.name === typeName) return existing;
      this.typeOf(typeName); // an unknown type is reported as such, not as a mismatch
      throw new OperationError(
        'WRONG_TYPE',
        `${JSON.stringify(name)} is a ${existing.type.name}, not a ${typeName}: use another name or the ${existing.type.name} API`,
        { name, type: existing.type.name },
      );
    }
    const type = this.typeOf(typeName);
    const created: SharedObject = { type, state: type.create() };
    this.objects.set(name, created);
    return created;
  }

  /** Number of named objects. */
  get size(): number {
    return this.objects.size;
  }

  private typeOf(typeName: string): ObjectType<any> {
    const type = this.types.get(typeName);
    if (type === undefined) {
      throw new OperationError('UNKNOWN_TYPE', `unknown object type ${JSON.stringify(typeName)}; known types: ${[...this.types.keys()].join(', ')}`);
    }
    return type;
  }
}
