/** Assertions shared by the unit tests. */
import { expect } from 'vitest';
import { SyncmgrError } from '../../src/errors.js';

/** The `code` of the SyncmgrError `fn` throws synchronously; fails the test if it does not throw. */
export function codeOf(fn: () => unknown): string {
  let result: unknown;
  try {
    result = fn();
  } catch (err) {
    expect(err).toBeInstanceOf(SyncmgrError);
    return (err as SyncmgrError).code;
  }
  throw new Error(`expected a synchronous throw, got ${result instanceof Promise ? 'a Promise' : JSON.stringify(result)}`);
}
