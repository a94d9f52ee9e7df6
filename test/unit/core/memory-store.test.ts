/** The in-memory store: named objects by type, and routing a request to an exposed operation. No sockets. */
import { describe, expect, it } from 'vitest';
import type { Request } from '../../../src/protocol/message.js';
import { dispatchObjectOp } from '../../../src/core/dispatch.js';
import { dictType, type DictState } from '../../../src/core/objects/dict.js';
import { type ObjectType, opsTable } from '../../../src/core/object-type.js';
import { BUILTIN_TYPES, Registry } from '../../../src/core/memory-store.js';
import { codeOf } from '../../helpers/assert.js';

let nextId = 1;
function request(type: string, name: string, op: string, args: unknown[] = [], init?: unknown): Request {
  return init === undefined ? { id: nextId++, type, name, op, args } : { id: nextId++, type, name, op, args, init };
}


/** A promise with its resolve function. */
function gate(): { promise: Promise<void>; open(): void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

/**
 * A test-only type whose `transfer` moves one unit from `a` to `b` with an await in the middle,
 * so the object is half-changed while it waits: exactly what dispatch's mutex must hide.
 */
interface Ledger {
  a: number;
  b: number;
  /** Opened by the test to let the pending transfer finish. */
  gate: { promise: Promise<void>; open(): void };
  /** Every op in the order it ran: proves queueing. */
  trace: string[];
}

function ledgerType(listAwaiting: boolean): ObjectType<Ledger> {
  return {
    name: 'ledger',
    create: () => ({ a: 10, b: 0, gate: gate(), trace: [] }),
    ops: opsTable<Ledger>({
      async transfer(ledger) {
        ledger.trace.push('transfer:start');
        ledger.a -= 1;
        await ledger.gate.promise;
        ledger.b += 1;
        ledger.trace.push('transfer:end');
        return [ledger.a, ledger.b];
      },
      total(ledger) {
        ledger.trace.push('total');
        return ledger.a + ledger.b;
      },
      reset(ledger) {
        ledger.trace.push('reset');
        ledger.a = 10;
        ledger.b = 0;
        return null;
      },
      fail(ledger) {
        ledger.trace.push('fail');
        throw new Error('boom');
      },
    }),
    ...(listAwaiting && { awaitingOps: new Set(['transfer']) }),
  };
}

/** Lets every pending microtask (and the mutex hand-overs they trigger) run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('Registry', () => {
  describe('#resolve', () => {
    it('creates an object on first use and returns the same one afterwards', () => {
      const registry = new Registry();
      expect(registry.size).toBe(0);
      const first = registry.resolve('dict', 'config');
      expect(first.type).toBe(dictType);
      expect(registry.size).toBe(1);
      (first.state as DictState).set('k', 1);
      const again = registry.resolve('dict', 'config');
      expect(again).toBe(first);
      expect((again.state as DictState).get('k')).toBe(1);
      expect(registry.size).toBe(1);
    });

    it('emits a create effect only when the call created the object', () => {
      const registry = new Registry();
      const published: unknown[] = [];
      registry.changes.subscribe((_revision, effects) => published.push(...effects));
      for (let i = 0; i < 2; i++) {
        const tx = registry.begin();
        registry.resolve('dict', 'd', undefined, tx);
        tx.commit();
      }
      expect(published).toEqual([['create', 'dict', 'd', null]]);
      expect(registry.changes.revision).toBe(1);
    });

    it('keeps different names apart', () => {
      const registry = new Registry();
      expect(registry.resolve('dict', 'a').state).not.toBe(registry.resolve('dict', 'b').state);
      expect(registry.size).toBe(2);
    });

    it('fails with WRONG_TYPE when a name is reused as another type, leaving the object alone', () => {
      const registry = new Registry();
      const dict = registry.resolve('dict', 'shared');
      expect(codeOf(() => registry.resolve('lock', 'shared'))).toBe('WRONG_TYPE');
      expect(codeOf(() => registry.resolve('list', 'shared'))).toBe('WRONG_TYPE');
      expect(registry.resolve('dict', 'shared')).toBe(dict);
      expect(registry.size).toBe(1);
    });

    it('fails with UNKNOWN_TYPE for a type it does not serve, creating nothing', () => {
      const registry = new Registry();
      expect(codeOf(() => registry.resolve('nosuchtype', 'x'))).toBe('UNKNOWN_TYPE');
      expect(codeOf(() => registry.resolve('toString', 'x'))).toBe('UNKNOWN_TYPE');
      expect(codeOf(() => registry.resolve('__proto__', 'x'))).toBe('UNKNOWN_TYPE');
      expect(registry.size).toBe(0);
    });

    it('reports UNKNOWN_TYPE rather than WRONG_TYPE for an unknown type on a taken name', () => {
      const registry = new Registry();
      registry.resolve('dict', 'taken');
      expect(codeOf(() => registry.resolve('nosuchtype', 'taken'))).toBe('UNKNOWN_TYPE');
    });

    it('serves only the types it was given', () => {
      const registry = new Registry([dictType]);
      registry.resolve('dict', 'd');
      expect(codeOf(() => registry.resolve('lock', 'l'))).toBe('UNKNOWN_TYPE');
    });

    it('serves every built-in type by default', () => {
      const registry = new Registry();
      for (const type of BUILTIN_TYPES) {
        const init = type.name === 'barrier' ? { parties: 2 } : undefined;
        expect(registry.resolve(type.name, `obj-${type.name}`, init).type).toBe(type);
      }
    });
  });

  describe('a rolled-back creation', () => {
    it('forgets the name so it can be created again, even as another type', () => {
      const registry = new Registry();
      const tx = registry.begin(undefined, null, true);
      registry.resolve('dict', 'x', undefined, tx);
      tx.rollback();
      expect(registry.size).toBe(0);
      expect(registry.resolve('list', 'x').type.name).toBe('list');
    });
  });
});

describe('dispatchObjectOp', () => {
  it('runs an exposed operation on the named object and returns its result', () => {
    const registry = new Registry();
    expect(dispatchObjectOp(registry, request('dict', 'd', 'set', ['k', 5]), registry.begin())).toBeNull();
    expect(dispatchObjectOp(registry, request('dict', 'd', 'incr', ['k', 2]), registry.begin())).toBe(7);
    expect(dispatchObjectOp(registry, request('dict', 'other', 'get', ['k']), registry.begin())).toBeNull();
  });

  it('fails with UNKNOWN_METHOD for names not in the ops table', () => {
    const registry = new Registry();
    dispatchObjectOp(registry, request('dict', 'd', 'set', ['k', 1]), registry.begin());
    for (const op of ['nosuch', 'toString', '__proto__', 'constructor', 'hasOwnProperty', 'valueOf', 'ops', 'create', 'GET']) {
      expect(codeOf(() => dispatchObjectOp(registry, request('dict', 'd', op, ['k']), registry.begin())), op).toBe('UNKNOWN_METHOD');
    }
    expect((registry.resolve('dict', 'd').state as DictState).get('k')).toBe(1);
  });

  it('fails with UNKNOWN_TYPE and WRONG_TYPE as the registry does', () => {
    const registry = new Registry();
    dispatchObjectOp(registry, request('dict', 'd', 'size'), registry.begin());
    expect(codeOf(() => dispatchObjectOp(registry, request('nosuch', 'n', 'get', ['k']), registry.begin()))).toBe('UNKNOWN_TYPE');
    expect(codeOf(() => dispatchObjectOp(registry, request('list', 'd', 'size'), registry.begin()))).toBe('WRONG_TYPE');
  });

  it("passes the operation's own errors through unchanged", () => {
    const registry = new Registry();
    dispatchObjectOp(registry, request('dict', 'd', 'set', ['s', 'text']), registry.begin());
    expect(codeOf(() => dispatchObjectOp(registry, request('dict', 'd', 'incr', ['s']), registry.begin()))).toBe('WRONG_TYPE');
    expect(codeOf(() => dispatchObjectOp(registry, request('dict', 'd', 'pop', ['missing']), registry.begin()))).toBe('KEY_NOT_FOUND');
  });

  it('in an atomic batch, keeps an inverse that removes an object the batch created', () => {
    const registry = new Registry();
    const ctx = registry.begin(undefined, 1, true);
    dispatchObjectOp(registry, request('dict', 'fresh', 'set', ['k', 1]), ctx);
    expect(registry.size).toBe(1);
    ctx.rollback();
    expect(registry.size).toBe(0);
  });

  describe('an operation listed in awaitingOps', () => {
    it('makes sync operations on the same object queue behind it until it finishes', async () => {
      const registry = new Registry([ledgerType(true)]);
      const ledger = registry.resolve('ledger', 'l').state as Ledger;

      const transfer = dispatchObjectOp(registry, request('ledger', 'l', 'transfer'), registry.begin());
      expect(transfer).toBeInstanceOf(Promise);
      await settle();
      // The transfer is half-way: one unit left `a` and has not reached `b`.
      expect(ledger.trace).toEqual(['transfer:start']);
      expect(ledger.a + ledger.b).toBe(9);

      const total = dispatchObjectOp(registry, request('ledger', 'l', 'total'), registry.begin());
      const reset = dispatchObjectOp(registry, request('ledger', 'l', 'reset'), registry.begin());
      // Queued, not run: a sync op would otherwise have returned 9 right here.
      expect(total).toBeInstanceOf(Promise);
      expect(reset).toBeInstanceOf(Promise);
      await settle();
      expect(ledger.trace).toEqual(['transfer:start']);

      ledger.gate.open();
      expect(await transfer).toEqual([9, 1]);
      expect(await total).toBe(10);
      expect(await reset).toBeNull();
      expect(ledger.trace).toEqual(['transfer:start', 'transfer:end', 'total', 'reset']);
    });

    it('runs two awaiting operations one after the other, in arrival order', async () => {
      const registry = new Registry([ledgerType(true)]);
      const ledger = registry.resolve('ledger', 'l').state as Ledger;
      const first = dispatchObjectOp(registry, request('ledger', 'l', 'transfer'), registry.begin()) as Promise<unknown>;
      const second = dispatchObjectOp(registry, request('ledger', 'l', 'transfer'), registry.begin()) as Promise<unknown>;
      await settle();
      expect(ledger.trace).toEqual(['transfer:start']);
      ledger.gate.open(); // the gate stays open: the second transfer passes straight through
      expect(await first).toEqual([9, 1]);
      expect(await second).toEqual([8, 2]);
      expect(ledger.trace).toEqual(['transfer:start', 'transfer:end', 'transfer:start', 'transfer:end']);
    });

    it('lets sync operations run directly again once the queue has drained', async () => {
      const registry = new Registry([ledgerType(true)]);
      const ledger = registry.resolve('ledger', 'l').state as Ledger;
      ledger.gate.open();
      await dispatchObjectOp(registry, request('ledger', 'l', 'transfer'), registry.begin());
      await dispatchObjectOp(registry, request('ledger', 'l', 'total'), registry.begin());
      expect(dispatchObjectOp(registry, request('ledger', 'l', 'total'), registry.begin())).toBe(10);
    });

    it('turns an error of a queued operation into a rejection, and keeps serving after it', async () => {
      const registry = new Registry([ledgerType(true)]);
      const ledger = registry.resolve('ledger', 'l').state as Ledger;
      const transfer = dispatchObjectOp(registry, request('ledger', 'l', 'transfer'), registry.begin());
      const failing = dispatchObjectOp(registry, request('ledger', 'l', 'fail'), registry.begin()) as Promise<unknown>;
      const total = dispatchObjectOp(registry, request('ledger', 'l', 'total'), registry.begin());
      ledger.gate.open();
      await transfer;
      await expect(failing).rejects.toThrow('boom');
      expect(await total).toBe(10);
    });

    it('does not hold up operations on other objects', async () => {
      const registry = new Registry([ledgerType(true)]);
      const transfer = dispatchObjectOp(registry, request('ledger', 'busy', 'transfer'), registry.begin());
      await settle();
      expect(dispatchObjectOp(registry, request('ledger', 'idle', 'total'), registry.begin())).toBe(10);
      (registry.resolve('ledger', 'busy').state as Ledger).gate.open();
      await transfer;
    });

    it('fails with WOULD_BLOCK inside an atomic batch, whether it is the awaiting op or one queued behind it', async () => {
      const registry = new Registry([ledgerType(true)]);
      const ledger = registry.resolve('ledger', 'l').state as Ledger;
      expect(codeOf(() => dispatchObjectOp(registry, request('ledger', 'l', 'transfer'), registry.begin(undefined, 1, true)))).toBe('WOULD_BLOCK');
      expect(ledger.trace).toEqual([]);
      const transfer = dispatchObjectOp(registry, request('ledger', 'l', 'transfer'), registry.begin());
      expect(codeOf(() => dispatchObjectOp(registry, request('ledger', 'l', 'total'), registry.begin(undefined, 1, true)))).toBe('WOULD_BLOCK');
      ledger.gate.open();
      await transfer;
      expect(dispatchObjectOp(registry, request('ledger', 'l', 'total'), registry.begin(undefined, 1, true))).toBe(10);
    });

    it('is what serializes: the same type without awaitingOps lets a read see the half-done change', async () => {
      // Control for the tests above: without the mutex the interleaving they rule out happens.
      const registry = new Registry([ledgerType(false)]);
      const ledger = registry.resolve('ledger', 'l').state as Ledger;
      const transfer = dispatchObjectOp(registry, request('ledger', 'l', 'transfer'), registry.begin());
      await settle();
      expect(dispatchObjectOp(registry, request('ledger', 'l', 'total'), registry.begin())).toBe(9);
      ledger.gate.open();
      await transfer;
    });
  });
});
