/** The process's limit on open file descriptors, where the platform tells it. */
import { readFileSync } from 'node:fs';

/**
 * The soft RLIMIT_NOFILE (which Node raises to the hard limit at start), read from
 * /proc/self/limits; undefined where there is no such file (not Linux) or it says "unlimited".
 */
export function openFileLimit(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const soft = /^Max open files\s+(\d+)/m.exec(text)?.[1];
  return soft === undefined ? undefined : Number(soft);
}
