/**
 * The CLI's exit statuses, which scripts tell apart as they do curl's and grep's (README "Exit
 * status"), and the one line printed for an error: what went wrong, its code, what to do.
 */
import { SyncmgrError } from '../errors.js';

export const EXIT = {
  OK: 0,
  /** A "no" answer (missing key, a wait that timed out, a lock not acquired) or a refused operation. */
  NO: 1,
  /** Bad usage: unknown flag, missing argument, bad value, unusable option. */
  USAGE: 2,
  /** Cannot connect: nothing listens there, or the connection was refused or lost. */
  CONNECT: 3,
  /** The server does not accept the key. */
  AUTH: 4,
  /** No answer in time (--timeout, or connecting). */
  TIMEOUT: 5,
} as const;

/** The exit status for an error that ended a command. */
export function exitStatusOf(err: unknown): number {
  if (!(err instanceof SyncmgrError)) return EXIT.NO;
  switch (err.code) {
    case 'CONFIG_ERROR':
      return EXIT.USAGE;
    case 'CONNECTION_FAILED':
    case 'CONNECTION_CLOSED':
    case 'TOO_MANY_CONNECTIONS':
      return EXIT.CONNECT;
    case 'AUTH_FAILED':
      return EXIT.AUTH;
    case 'TIMEOUT':
      return EXIT.TIMEOUT;
    default:
      return EXIT.NO;
  }
}

/** A system error whose message says already what to do: printed without a generic hint. */
export class ExplainedSystemError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** What to do about a system error, by its errno code. */
const ERRNO_HINTS: Record<string, string> = {
  EADDRINUSE: 'another process listens on that address: stop it, or choose another --port / --socket',
  EADDRNOTAVAIL: 'this machine has no such address: check --host',
  EACCES: 'permission denied: check the file or directory permissions (ports below 1024 need privileges)',
  EPERM: 'operation not permitted: check the permissions',
  ENOENT: 'no such file or directory: check the path (and that its directory exists)',
  ENOTDIR: 'a part of the path is not a directory: check the path',
  ENOSPC: 'the disk is full: free some space',
  EROFS: 'the file system is read-only: choose a writable place',
};

/** One line for `err`: its message, its code in brackets, and for a system error what to do. */
export function describeError(err: unknown): string {
  if (err instanceof SyncmgrError || err instanceof ExplainedSystemError) return `${err.message} [${err.code}]`;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (typeof errno === 'string') {
    const hint = ERRNO_HINTS[errno];
    return hint === undefined ? `${message} [${errno}]` : `${message}: ${hint} [${errno}]`;
  }
  return message;
}
