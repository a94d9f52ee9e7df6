/** `syncmgr serve`: runs a server until SIGINT/SIGTERM. */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigurationError, type PersistenceError } from '../../errors.js';
import { FSYNC_POLICIES, type FsyncPolicy } from '../../persistence/log-writer.js';
import { createServer } from '../../server/server.js';
import { formatEndpoint } from '../../transport/address.js';
import { parseCount, parsePort, parseSeconds, readAuthkey } from '../connection-options.js';

interface ServeFlags {
  authkey?: string;
  authkeyFile?: string;
  host: string;
  port: number;
  tcp: boolean;
  socket?: string;
  wsPort?: number;
  maxFrame?: number;
  maxConnections?: number;
  maxHandshakes?: number;
  maxHandshakesPerAddress?: number;
  wsAllowedOrigin?: string[];
  socketMode?: number;
  handshakeTimeout?: number;
  sessionTimeout?: number;
  quiet?: boolean;
  dataDir?: string;
  fsync?: FsyncPolicy;
  compactAfter?: number;
  maxMemory?: number;
  maxObjects?: number;
}

function parseFsync(text: string): FsyncPolicy {
  if (!FSYNC_POLICIES.includes(text as FsyncPolicy)) throw new ConfigurationError(`--fsync takes ${FSYNC_POLICIES.join(', ')}, not ${text}`);
  return text as FsyncPolicy;
}

/** With --quiet, only what needs attention: persistence warnings and failures. */
const ALWAYS_LOGGED = /^(warning|fatal):/;

/** Parses a byte count with an optional k/M/G suffix (powers of 1024), at most `max`. */
export function parseBytes(text: string, max = 2 ** 31 - 1): number {
  const match = /^(\d+)([kmg]?)i?b?$/i.exec(text.trim());
  const units: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  if (match === null) throw new ConfigurationError(`not a byte size: ${text} (e.g. 1048576, 512k, 16M)`);
  const value = Number(match[1]) * units[match[2]!.toLowerCase()]!;
  if (value < 1 || value > max) throw new ConfigurationError(`byte size out of range: ${text}`);
  return value;
}

function parseMode(text: string): number {
  if (!/^0?[0-7]{3}$/.test(text)) throw new ConfigurationError(`--socket-mode takes an octal mode like 600 or 0660, not ${text}`);
  return Number.parseInt(text, 8);
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

/**
 * A warning when the key file can be read (or written) by other users, who could then connect.
 * A warning rather than a refusal as ssh does for private keys: key files are often shared on
 * purpose with a group (or mounted 0644, as Kubernetes mounts secrets by default).
 */
function keyFileWarning(path: string): string | undefined {
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return undefined;
  const who = [(mode & 0o070) !== 0 && 'its group', (mode & 0o007) !== 0 && 'other users'].filter(Boolean).join(' and ');
  return `warning: --authkey-file ${path} is readable by ${who} (mode 0${mode.toString(8)}): anyone who reads it can connect; chmod 600 it`;
}

/**
 * Makes writes to a closed stdout/stderr (its reader went away: EPIPE) harmless: logging must
 * never take the server down. Node reports such a failed write as an 'error' event on the
 * stream, which would otherwise be an uncaught exception.
 */
function surviveClosedOutput(): void {
  for (const stream of [process.stdout, process.stderr]) {
    if (stream.listenerCount('error') === 0) stream.on('error', () => {});
  }
}

export function registerServe(program: Command, stdout: (line: string) => void, stderr: (line: string) => void): void {
  program
    .command('serve')
    .description('run a manager server until SIGINT/SIGTERM')
    .option('--authkey <key>', 'shared secret (visible in ps; prefer --authkey-file or $SYNCMGR_AUTHKEY)')
    .option('--authkey-file <path>', 'read the shared secret from this file')
    .option('--host <host>', 'TCP (and WebSocket) host to bind', '127.0.0.1')
    .option('--port <port>', 'TCP port (0: any free port)', parsePort, 50000)
    .option('--no-tcp', 'open no TCP listener (use with --socket or --ws-port)')
    .option('--socket <path>', 'also listen on this Unix socket')
    .option('--ws-port <port>', 'also listen for WebSocket clients on this port', parsePort)
    .option('--max-frame <bytes>', 'largest request frame accepted, e.g. 16M (default 16M)', parseBytes)
    .option('--max-connections <n>', 'most simultaneous connections; a newcomer displaces the oldest one still in its handshake (default: what the open file limit allows)', parseCount)
    .option('--max-handshakes <n>', 'most connections in their handshake at once (default 4096)', parseCount)
    .option('--max-handshakes-per-address <n>', 'most connections in their handshake at once from one IP address or IPv6 /64 (default 1024)', parseCount)
    .option('--socket-mode <mode>', 'permissions of the --socket file, octal (default 600: this user only)', parseMode)
    .option('--ws-allowed-origin <origin>', 'let web pages of this origin open WebSocket connections (repeatable; default: none but the listener\'s own)', collect)
    .option('--handshake-timeout <seconds>', 'seconds a connection has to authenticate (default 10)', parseSeconds)
    .option('--session-timeout <seconds>', 'end a session silent this long, releasing what it holds (default 15)', parseSeconds)
    .option('--max-memory <bytes>', 'refuse writes that add data while the heap in use is over this, e.g. 512M, 2G (default unlimited)', (text: string) => parseBytes(text, Number.MAX_SAFE_INTEGER))
    .option('--max-objects <n>', 'most named objects (default unlimited)', parseCount)
    .option('--quiet', 'do not log connections to stderr (warnings still are)')
    .option('--data-dir <dir>', 'keep the objects in DIR across restarts (docs/PERSISTENCE.md; default: in memory)')
    .option('--fsync <policy>', 'with --data-dir: always (answer after fsync), everysec (default) or no', parseFsync)
    .option('--compact-after <bytes>', 'with --data-dir: fold the log into a snapshot past this size, e.g. 64M (default)', parseBytes)
    .action(async (flags: ServeFlags) => {
      surviveClosedOutput();
      const authkey = readAuthkey(flags);
      if (authkey === undefined || authkey === '') {
        throw new ConfigurationError(
          'no authkey: give one with --authkey-file PATH, the SYNCMGR_AUTHKEY environment variable, or --authkey KEY',
        );
      }
      const keyWarning = flags.authkey === undefined && flags.authkeyFile !== undefined ? keyFileWarning(flags.authkeyFile) : undefined;
      if (keyWarning !== undefined) stderr(`${new Date().toISOString()} ${keyWarning}`);
      const server = createServer({
        authkey,
        host: flags.host,
        port: flags.tcp ? flags.port : false,
        ...(flags.socket !== undefined && { socket: flags.socket }),
        ...(flags.wsPort !== undefined && { wsPort: flags.wsPort }),
        ...(flags.maxFrame !== undefined && { maxFrameBytes: flags.maxFrame }),
        ...(flags.maxConnections !== undefined && { maxConnections: flags.maxConnections }),
        ...(flags.maxHandshakes !== undefined && { maxHandshakes: flags.maxHandshakes }),
        ...(flags.maxHandshakesPerAddress !== undefined && { maxHandshakesPerAddress: flags.maxHandshakesPerAddress }),
        ...(flags.socketMode !== undefined && { socketMode: flags.socketMode }),
        ...(flags.wsAllowedOrigin !== undefined && { wsAllowedOrigins: flags.wsAllowedOrigin }),
        ...(flags.handshakeTimeout !== undefined && { handshakeTimeoutMs: flags.handshakeTimeout * 1000 }),
        ...(flags.sessionTimeout !== undefined && { sessionTimeoutMs: flags.sessionTimeout * 1000 }),
        ...(flags.maxMemory !== undefined && { maxMemoryBytes: flags.maxMemory }),
        ...(flags.maxObjects !== undefined && { maxObjects: flags.maxObjects }),
        ...(flags.dataDir !== undefined && { dataDir: flags.dataDir }),
        ...(flags.fsync !== undefined && { fsync: flags.fsync }),
        ...(flags.compactAfter !== undefined && { compactAfterBytes: flags.compactAfter }),
        onFatalError: (err) => fatal(err),
        log: (line) => {
          if (!flags.quiet || ALWAYS_LOGGED.test(line)) stderr(`${new Date().toISOString()} ${line}`);
        },
      });
      let fatal: (err: PersistenceError) => void = () => {};
      const failed = new Promise<never>((_, reject) => (fatal = reject));
      const endpoints = await server.listen();
      for (const endpoint of endpoints) stdout(`syncmgr ${server.instanceId.slice(0, 8)} listening on ${formatEndpoint(endpoint)}`);
      const stopped = new Promise<void>((resolve) => {
        const stop = (signal: NodeJS.Signals): void => {
          stderr(`${new Date().toISOString()} ${signal}: shutting down`);
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          server.close().then(resolve, resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      // A failed log write ends the server with an error (exit status 1).
      await Promise.race([stopped, failed]);
    });
}
