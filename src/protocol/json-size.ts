/**
 * The size of a value's JSON text, counted without writing it, stopping as soon as it passes a
 * limit. Pure.
 *
 * Why: a request of a few bytes can ask for a result of gigabytes (`getMany` of one large value's
 * key, repeated), and JSON.stringify would build all of it before anyone could look at its size.
 * Counting first costs a walk of the value but no allocation, and ends after `limit` bytes however
 * large the value is: the server refuses an oversized result for about the price of one that fits.
 */
// Buffer imported rather than the global, which is a getter called on every use.
import { Buffer } from 'node:buffer';

/** Strings at least this long are measured natively (see stringLength). */
const NATIVE_FROM_LENGTH = 64;
/** What JSON.stringify writes as more than its UTF-8 bytes: escaped characters, and surrogates (a lone one is escaped). */
const NOT_PLAIN = /[\u0000-\u001f"\\\ud800-\udfff]/;

/** Bytes of `"\n"`-style escapes; the other control characters are written `\u00XX`. */
function controlLength(code: number): number {
  return code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d ? 2 : 6;
}

/**
 * The long string measured last and its length, for the walk under way only (then let go of): a
 * result naming one large value many times (`getMany(["k", "k", ...])`) costs one scan of it, not
 * one per mention.
 */
let lastText = '';
let lastTextLength = 0;

/** Bytes JSON.stringify writes for string `text`, quotes included, in UTF-8. */
function stringLength(text: string): number {
  if (text.length < NATIVE_FROM_LENGTH) return scannedLength(text);
  if (text === lastText) return lastTextLength;
  lastText = text;
  lastTextLength = NOT_PLAIN.test(text) ? scannedLength(text) : Buffer.byteLength(text, 'utf8') + 2;
  return lastTextLength;
}

/** {@link stringLength}, character by character. */
function scannedLength(text: string): number {
  let length = 2;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x80) length += code < 0x20 ? controlLength(code) : code === 0x22 || code === 0x5c ? 2 : 1;
    else if (code < 0x800) length += 2;
    else if (code >= 0xd800 && code <= 0xdbff) {
      const next = i + 1 < text.length ? text.charCodeAt(i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        length += 4;
        i++;
      } else {
        length += 6;
      }
    } else if (code >= 0xdc00 && code <= 0xdfff) length += 6;
    else length += 3;
  }
  return length;
}

/** What an array slot holds as JSON.stringify sees it: after toJSON. */
function jsonValue(value: unknown, key: string): unknown {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    return (value as { toJSON(key: string): unknown }).toJSON(key);
  }
  return value;
}

/** Whether JSON.stringify leaves a property of this value out (and writes null in an array). */
function isOmitted(value: unknown): boolean {
  return value === undefined || typeof value === 'function' || typeof value === 'symbol';
}

/**
 * Bytes of JSON.stringify(value) in UTF-8, or -1 as soon as the count passes `limit` (the walk
 * stops there). A value JSON.stringify writes nothing for (undefined) counts as `null`.
 */
export function jsonByteLengthWithin(value: unknown, limit: number): number {
  const length = measure(jsonValue(value, ''), limit);
  lastText = '';
  return length > limit ? -1 : length;
}

/** Bytes of `value` (toJSON already applied), or a number over `budget` once past it. */
function measure(value: unknown, budget: number): number {
  switch (typeof value) {
    case 'string':
      return stringLength(value);
    case 'number':
      return Number.isFinite(value) ? String(value).length : 4;
    case 'boolean':
      return value ? 4 : 5;
    case 'object':
      if (value === null) return 4;
      return Array.isArray(value) ? measureArray(value, budget) : measureObject(value as Record<string, unknown>, budget);
    default:
      // undefined, functions and symbols (null in an array; JSON.stringify throws on a bigint).
      return 4;
  }
}

function measureArray(array: readonly unknown[], budget: number): number {
  // The brackets, and a comma between items.
  let length = array.length === 0 ? 2 : array.length + 1;
  for (let i = 0; i < array.length && length <= budget; i++) {
    const item = jsonValue(array[i], String(i));
    length += isOmitted(item) ? 4 : measure(item, budget - length);
  }
  return length;
}

function measureObject(object: Record<string, unknown>, budget: number): number {
  let length = 2;
  let entries = 0;
  for (const key of Object.keys(object)) {
    if (length > budget) break;
    const item = jsonValue(object[key], key);
    if (isOmitted(item)) continue;
    // The key, its colon, and a comma before every entry but the first.
    length += (entries++ > 0 ? 1 : 0) + stringLength(key) + 1;
    length += measure(item, budget - length);
  }
  return length;
}
