/**
 * What a request may carry: values JSON stores and gives back equal. JSON.stringify silently turns
 * undefined, NaN and Infinity into null, a Map or a Set into {}, a Buffer into {"type":"Buffer",...}
 * and a Date into a string, and throws on a BigInt or a cycle; the client refuses all of them
 * before sending, so nothing is stored changed. Allowed: strings, booleans, null, finite numbers,
 * arrays, and plain objects (made by a literal, JSON.parse or Object.create(null)). An object
 * property that is undefined is dropped, as JSON does: reading the property back gives undefined.
 */

/**
 * Whether JSON gives `value` back equal. A walk that builds no path, for every request: the path
 * of {@link unfaithfulJson} is built only for a value refused.
 */
export function isFaithfulJson(value: unknown, ancestors?: Set<object>): boolean {
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return true;
    case 'number':
      return Number.isFinite(value);
    case 'object': {
      if (value === null) return true;
      const isArray = Array.isArray(value);
      if (!isArray) {
        const proto = Object.getPrototypeOf(value) as object | null;
        if (proto !== Object.prototype && proto !== null) return false;
      }
      const seen = ancestors ?? new Set<object>();
      if (seen.has(value)) return false;
      seen.add(value);
      try {
        if (isArray) {
          for (let i = 0; i < value.length; i++) if (!isFaithfulJson(value[i], seen)) return false;
          return true;
        }
        for (const key in value) {
          if (!Object.hasOwn(value, key)) continue;
          const member = (value as Record<string, unknown>)[key];
          if (member !== undefined && !isFaithfulJson(member, seen)) return false;
        }
        return true;
      } finally {
        seen.delete(value);
      }
    }
    default:
      return false;
  }
}

/** Where `value` (found at `path`, e.g. `args[1]`) holds something JSON would not give back equal, and what; undefined if nowhere. */
export function unfaithfulJson(value: unknown, path: string): string | undefined {
  if (isFaithfulJson(value)) return undefined;
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return undefined;
    case 'number':
      return Number.isFinite(value) ? undefined : `${path} is ${value}: JSON has no NaN or Infinity (they would be stored as null)`;
    case 'object':
      return value === null ? undefined : unfaithfulObject(value, path, new Set());
    case 'undefined':
      return `${path} is undefined: JSON has no undefined (it would be stored as null); use null`;
    case 'bigint':
      return `${path} is a BigInt, which JSON cannot carry: send it as a string or a number`;
    default:
      return `${path} is a ${typeof value}, which JSON cannot carry`;
  }
}

/** {@link unfaithfulJson} for an object; `ancestors` are the objects that contain it, to find cycles. */
function unfaithfulObject(value: object, path: string, ancestors: Set<object>): string | undefined {
  if (ancestors.has(value)) return `${path} refers back to an object that contains it: JSON cannot carry a cycle`;
  const isArray = Array.isArray(value);
  if (!isArray) {
    const proto = Object.getPrototypeOf(value) as object | null;
    if (proto !== Object.prototype && proto !== null) return `${path} is ${describeInstance(value)}`;
  }
  ancestors.add(value);
  try {
    if (isArray) {
      for (let i = 0; i < value.length; i++) {
        const found = unfaithfulMember(value[i], `${path}[${i}]`, ancestors);
        if (found !== undefined) return found;
      }
      return undefined;
    }
    for (const key of Object.keys(value)) {
      const member = (value as Record<string, unknown>)[key];
      if (member === undefined) continue;
      const found = unfaithfulMember(member, `${path}.${key}`, ancestors);
      if (found !== undefined) return found;
    }
    return undefined;
  } finally {
    ancestors.delete(value);
  }
}

function unfaithfulMember(member: unknown, path: string, ancestors: Set<object>): string | undefined {
  return typeof member === 'object' && member !== null ? unfaithfulObject(member, path, ancestors) : unfaithfulJson(member, path);
}

/** What a non-plain object is, with the conversion to send instead. */
function describeInstance(value: object): string {
  if (Buffer.isBuffer(value) || ArrayBuffer.isView(value) || value instanceof ArrayBuffer) {
    return `${article(value.constructor.name)}, which JSON would store as an object of numbers: send bytes as a base64 string (buffer.toString('base64'))`;
  }
  if (value instanceof Map) return "a Map, which JSON would store as {}: send Object.fromEntries(map) or [...map]";
  if (value instanceof Set) return 'a Set, which JSON would store as {}: send [...set]';
  if (value instanceof Date) return 'a Date, which JSON would store as a string: send date.toISOString() or date.getTime()';
  const name = (value.constructor as { name?: unknown } | undefined)?.name;
  return `${typeof name === 'string' && name !== '' ? article(name) : 'an object with a prototype'}, not a plain object: JSON would keep only its own fields, and give back a plain object; send a plain object`;
}

function article(name: string): string {
  return /^[AEIOU]/.test(name) ? `an ${name}` : `a ${name}`;
}
