/** Event, as `threading.Event`: a flag that waiters block on until it is set. */
import { checkArity } from '../args.js';
import type { Journal } from '../effects.js';
import { timeoutArg, WaitQueue } from '../waiting.js';
import { type ObjectType, opsTable } from './types.js';

export interface EventState {
  flag: boolean;
  readonly waiters: WaitQueue<boolean>;
  /** Set when the server persists changes (core/effects.ts). */
  readonly name?: string;
  readonly journal?: Journal | undefined;
}

export const eventType: ObjectType<EventState> = {
  name: 'event',
  create: (_init, name, objects) => ({ flag: false, waiters: new WaitQueue(), name, journal: objects.journal }),
  ops: opsTable<EventState>({
    /** set() → null: sets the flag and wakes every waiter. */
    set(event, args, context) {
      checkArity(args, 0, 0, 'set()');
      const was = event.flag;
      event.flag = true;
      if (!was) event.journal?.add(['event', event.name!, true]);
      if (context.atomic) context.undo(() => void (event.flag = was));
      context.defer(() => {
        for (const waiter of event.waiters.drain()) waiter.grant(true);
      });
      return null;
    },

    /** clear() → null. */
    clear(event, args, context) {
      checkArity(args, 0, 0, 'clear()');
      const was = event.flag;
      event.flag = false;
      if (was) event.journal?.add(['event', event.name!, false]);
      if (context.atomic) context.undo(() => void (event.flag = was));
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
