/** Event, as `threading.Event`: a flag that waiters block on until it is set. */
import { checkArity } from '../args.js';
import { ReplayError, unknownEffect } from '../effects.js';
import { timeoutArg, WaitQueue } from '../waiting.js';
import { metaField, type ObjectType, opsTable } from '../object-type.js';

export interface EventState {
  flag: boolean;
  readonly waiters: WaitQueue<boolean>;
  readonly name?: string;
}

export const eventType: ObjectType<EventState> = {
  name: 'event',
  create: (_init, name) => ({ flag: false, waiters: new WaitQueue(), name }),
  apply: (event, effect, undoable) => {
    if (effect[0] !== 'event') throw unknownEffect('event', effect);
    const was = event.flag;
    event.flag = effect[2] === true;
    return undoable ? ['event', effect[1], was] : undefined;
  },
  capture: (event) => ({ init: null, meta: { flag: event.flag } }),
  fill: (event, meta) => {
    if (meta === undefined || meta === null) return;
    const flag = metaField(meta, 'flag');
    if (typeof flag !== 'boolean') throw new ReplayError('event meta.flag must be a boolean');
    event.flag = flag;
  },
  ops: opsTable<EventState>({
    /** set() → null: sets the flag and wakes every waiter. */
    set(event, args, context) {
      checkArity(args, 0, 0, 'set()');
      if (!event.flag) context.emit(['event', event.name!, true]);
      context.defer(() => {
        for (const waiter of event.waiters.drain()) waiter.grant(true);
      });
      return null;
    },

    /** clear() → null. */
    clear(event, args, context) {
      checkArity(args, 0, 0, 'clear()');
      if (event.flag) context.emit(['event', event.name!, false]);
      return null;
    },

    /** isSet() → boolean. */
    isSet(event, args) {
      checkArity(args, 0, 0, 'isSet()');
      return event.flag;
    },

    /** wait(timeout?) → true once set; false if the timeout passed first (as Python). */
    wait(event, args, context) {
      checkArity(args, 0, 1, 'wait(timeout?)');
      const timeout = timeoutArg(args[0], 'wait(timeout?)');
      if (event.flag) return true;
      if (timeout === 0) return false;
      return context.wait(event.waiters, { timeout, onTimeout: () => false });
    },
  }),
};
