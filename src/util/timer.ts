/**
 * setTimeout for any delay. Node clamps a delay above 2^31-1 ms (about 24.8 days) to 1 ms, so a
 * caller asking to wait 30 days would be answered at once; longer delays are run as a chain of
 * maximal timers instead.
 */

/** Longest delay one Node timer holds, in milliseconds. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** A pending {@link setLongTimeout}; `clear()` stops it (idempotent). */
export interface LongTimeout {
  clear(): void;
}

/** Runs `callback` once after `ms` milliseconds, however large `ms` is. */
export function setLongTimeout(callback: () => void, ms: number): LongTimeout {
  let timer: NodeJS.Timeout;
  const deadline = Date.now() + ms;
  const arm = (left: number): void => {
    if (left <= MAX_TIMER_MS) {
      timer = setTimeout(callback, left);
      return;
    }
    timer = setTimeout(() => arm(deadline - Date.now()), MAX_TIMER_MS);
  };
  arm(ms);
  return { clear: () => clearTimeout(timer) };
}
