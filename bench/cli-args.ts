/** Small argument helpers shared by the bench's modes (run, compare, durability, scale). */

/** `a, b,c` → ['a', 'b', 'c']. */
export function list(text: string): string[] {
  return text.split(',').map((name) => name.trim()).filter((name) => name !== '');
}

/** A non-negative number of seconds given to `flag`. */
export function seconds(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0) throw new Error(`${flag} takes a number of seconds, not ${text}`);
  return value;
}

/** Each name of a comma list, checked against `known`. */
export function choose<T extends string>(text: string, known: readonly T[], what: string): T[] {
  return list(text).map((name) => {
    if (!known.includes(name as T)) throw new Error(`unknown ${what} ${name}; known: ${known.join(', ')}`);
    return name as T;
  });
}

/** Progress goes to stderr so that `--json` output on stdout stays machine-readable. */
export function progress(line: string): void {
  process.stderr.write(`${line}\n`);
}
