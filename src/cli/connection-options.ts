/** Connection flags shared by every client command, and their resolution into connect() options. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { ConnectOptions } from '../client/client.js';
import { ConfigurationError } from '../errors.js';
import { parseConnectionString } from '../transport/address.js';

export interface ConnectionFlags {
  url?: string;
  host?: string;
  port?: number;
  socket?: string;
  authkey?: string;
  authkeyFile?: string;
  timeout?: number;
}

/** Parses a number of seconds a wait may last: 0 means try once, without waiting. */
export function parseWaitSeconds(text: string): number {
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value) || value < 0) throw new ConfigurationError(`not a number of seconds (0 or more): ${text}`);
  return value;
}

/** Parses a positive number of seconds. */
export function parseSeconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0) throw new ConfigurationError(`not a positive number of seconds: ${text}`);
  return value;
}

/** Parses a count of 1 or more (permits, parties, connections, objects). */
export function parseCount(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) throw new ConfigurationError(`not a whole number of 1 or more: ${text}`);
  return value;
}

/** Parses a TCP port (0 allowed: pick a free one). */
export function parsePort(text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 0 || value > 65535) throw new ConfigurationError(`not a TCP port: ${text}`);
  return value;
}

/**
 * Adds the flags every client command takes. Commands that wait on the server (lock, queue get,
 * event wait) define their own `--timeout`, for the wait, and pass `callTimeout: false`.
 */
export function addConnectionFlags(command: Command, { callTimeout = true } = {}): Command {
  command
    .option('--url <url>', 'connection string, e.g. tcp://:KEY@127.0.0.1:50000 (default: $SYNCMGR_URL)')
    .option('--host <host>', 'server host (default 127.0.0.1)')
    .option('--port <port>', 'server TCP port (default 50000)', parsePort)
    .option('--socket <path>', 'server Unix socket path')
    .option('--authkey <key>', 'shared secret (visible in ps; prefer --authkey-file or $SYNCMGR_AUTHKEY)')
    .option('--authkey-file <path>', 'read the shared secret from this file');
  return callTimeout ? command.option('--timeout <seconds>', 'give up after this many seconds', parseSeconds) : command;
}

/**
 * The authkey from --authkey, --authkey-file or SYNCMGR_AUTHKEY, in that order. A file's trailing
 * newline is dropped, so `echo KEY > file` works.
 */
export function readAuthkey(flags: { authkey?: string; authkeyFile?: string }, env = process.env): string | undefined {
  if (flags.authkey !== undefined) return flags.authkey;
  if (flags.authkeyFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(flags.authkeyFile, 'utf8');
    } catch (err) {
      throw new ConfigurationError(`cannot read --authkey-file ${flags.authkeyFile}: ${(err as NodeJS.ErrnoException).code ?? err}`);
    }
    return text.replace(/\r?\n$/, '');
  }
  return env.SYNCMGR_AUTHKEY || undefined;
}

/**
 * The key inside SYNCMGR_URL, for an address given by flag: `export SYNCMGR_URL=...` then
 * `syncmgr get k --port 50001` means "that key, this port". connect() alone would drop it, since
 * the URL is not the address used.
 */
function keyOfEnvironmentUrl(env: NodeJS.ProcessEnv): string | undefined {
  if (!env.SYNCMGR_URL) return undefined;
  try {
    return parseConnectionString(env.SYNCMGR_URL).authkey;
  } catch {
    // An unusable SYNCMGR_URL is reported where it is used as the address, not here.
    return undefined;
  }
}

export function toConnectOptions(flags: ConnectionFlags, env = process.env): ConnectOptions {
  const options: ConnectOptions = {};
  if (flags.url !== undefined) options.url = flags.url;
  if (flags.host !== undefined) options.host = flags.host;
  if (flags.port !== undefined) options.port = flags.port;
  if (flags.socket !== undefined) options.path = flags.socket;
  const addressByFlag = flags.url === undefined && (flags.socket !== undefined || flags.host !== undefined || flags.port !== undefined);
  const authkey = readAuthkey(flags, env) ?? (addressByFlag ? keyOfEnvironmentUrl(env) : undefined);
  if (authkey !== undefined) options.authkey = authkey;
  if (flags.timeout !== undefined) {
    options.timeout = flags.timeout;
    options.connectTimeout = flags.timeout;
  }
  return options;
}
