/**
 * The dump document: what the `snapshot` server operation returns and `restore` takes
 * (docs/PERSISTENCE.md, `syncmgr dump` / `syncmgr restore`). Plain JSON, the same for every
 * client:
 *
 *   {"format": "syncmgr-dump", "version": 1, "server": "syncmgr/0.1.0", "created": "...",
 *    "objects": [{"type": "dict", "name": "counters", "init": null, "meta": null,
 *                 "items": [["hits", 8]]}, ...]}
 */

export const DUMP_FORMAT = 'syncmgr-dump';
export const DUMP_VERSION = 1;

export interface Dump {
  format: typeof DUMP_FORMAT;
  version: number;
  server: string;
  /** The server instance it was taken from. */
  instance: string;
  created: string;
  objects: ObjectImage[];
}

/** One object as a dump holds it. */
export interface ObjectImage {
  type: string;
  name: string;
  /** Creation parameters, as a request's `init` (null: none). */
  init: Record<string, unknown> | null;
  /** Small state besides the items (event flag, queue's unfinished count, lock fence...), or null. */
  meta: unknown;
  /** Bulk contents, or null for types that have none. */
  items: unknown[] | null;
}
