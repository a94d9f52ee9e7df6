/**
 * Dumps (the format is protocol/dump.ts): the whole state taken over the protocol (`snapshot`
 * server operation, `syncmgr dump --out FILE`) and loaded back (`restore`, `syncmgr restore FILE`).
 * They work with or without a data directory.
 */
import { OperationError } from '../errors.js';
import { DUMP_FORMAT, DUMP_VERSION, type Dump, type ObjectImage } from '../protocol/dump.js';
import type { Store } from '../core/store.js';
import { VERSION } from '../version.js';
import { captureAll, parseImages, ReplayError, toImage } from './state.js';

/** Every object at this instant (synchronous, so the dump is consistent across objects). */
export function makeDump(registry: Store, instance: string): Dump {
  return {
    format: DUMP_FORMAT,
    version: DUMP_VERSION,
    server: `syncmgr/${VERSION}`,
    instance,
    created: new Date().toISOString(),
    objects: captureAll(registry).map(toImage),
  };
}

/**
 * Checks that `value` is a dump this version reads and returns its objects.
 * @throws OperationError INVALID_ARGUMENT.
 */
export function parseDump(value: unknown): ObjectImage[] {
  const dump = value as Partial<Dump> | null;
  if (dump === null || typeof dump !== 'object' || dump.format !== DUMP_FORMAT) {
    throw new OperationError('INVALID_ARGUMENT', `restore: not a syncmgr dump (expected "format": "${DUMP_FORMAT}")`);
  }
  if (dump.version !== DUMP_VERSION) {
    throw new OperationError('INVALID_ARGUMENT', `restore: dump version ${JSON.stringify(dump.version)}; this server reads version ${DUMP_VERSION}`);
  }
  return parseImages(dump.objects);
}

/**
 * Creates every object of `dump` with its contents, all or nothing, in one transaction of its own
 * (one log record: each object's creation and its contents, `fill`). No object of the dump may
 * exist yet: restore never overwrites (INVALID_ARGUMENT naming them).
 * @returns the number of objects created.
 * @throws OperationError INVALID_ARGUMENT (bad dump, names taken), UNKNOWN_TYPE.
 */
export function restoreDump(registry: Store, dump: unknown): number {
  const images = parseDump(dump);
  const taken = images.filter((image) => registry.peek(image.name) !== undefined).map((image) => image.name);
  if (taken.length > 0) {
    throw new OperationError(
      'INVALID_ARGUMENT',
      `restore: ${taken.length} object(s) of the dump already exist (${taken.slice(0, 5).map((name) => JSON.stringify(name)).join(', ')}${taken.length > 5 ? ', ...' : ''}); ` +
        'restore never overwrites: restore into a server that does not have them',
      { names: taken },
    );
  }
  // Undoable although not atomic: a bad image half-way drops every object created before it.
  const tx = registry.begin(undefined, null, false, true);
  try {
    for (const [index, image] of images.entries()) {
      // A condition earlier in the dump may have created the lock it shares.
      const existing = registry.peek(image.name);
      if (existing === undefined) registry.resolve(image.type, image.name, image.init ?? undefined, tx);
      else if (existing.type.name !== image.type) throw new ReplayError(`object #${index} ${JSON.stringify(image.name)} is a ${image.type}, but a condition already made it a ${existing.type.name}`);
      try {
        tx.emit(['fill', image.name, image.meta, image.items]);
      } catch (err) {
        if (err instanceof ReplayError) throw new ReplayError(`object #${index} (${image.type} ${JSON.stringify(image.name)}): ${err.message}`);
        throw err;
      }
    }
  } catch (err) {
    tx.rollback();
    if (err instanceof ReplayError) throw new OperationError('INVALID_ARGUMENT', `restore: ${err.message}; nothing was restored`);
    throw err;
  }
  tx.commit();
  return images.length;
}
