/** The in-memory store under its former name, for code written against it. */
export { BUILTIN_TYPES, Registry } from '../core/memory-store.js';
