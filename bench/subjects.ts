/**
 * What the bench measures: a "subject" is a server (started here, in its own process) plus a small
 * client adapter that workloads drive. Today there is one, syncmgr itself. A comparison peer
 * (Redis through ioredis, CPython's SyncManager...) is one more entry in {@link SUBJECTS}: a way to
 * start it and a {@link BenchClient} for it. Workloads never see which subject they run against.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { connect, connectionString, parseConnectionString, VERSION } from 'syncmgr';
import { stopChild } from './peers/proc.js';
import { floorSubject } from './peers/floor.js';
import { redisSubject } from './peers/redis.js';

export type Transport = 'tcp' | 'unix' | 'ws';
export const TRANSPORTS: readonly Transport[] = ['tcp', 'unix', 'ws'];

/**
 * Where one subject listens on one transport. Plain data, so it can be handed to worker processes
 * (in their environment: `url` carries the key).
 */
export interface Target {
  subject: string;
  transport: Transport;
  url: string;
}

/** The operations workloads use. Later workloads (locks...) add optional methods here. */
export interface BenchClient {
  /** Adds one to the counter `key` (missing counts as 0) and resolves with the new value. */
  incr(key: string): Promise<number>;
  /** The counter's value, or null when it does not exist. */
  get(key: string): Promise<number | null>;
  /**
   * A locked read-modify-write, as a careful user of this subject writes it: take the lock named
   * after `key`, read the counter, write it back plus one, release; resolves with the new value.
   */
  lockedIncr?(key: string): Promise<number>;
  /** Waits for the permit of the one-permit semaphore `name`; resolves with what gives it back. */
  acquirePermit?(name: string): Promise<() => Promise<void>>;
  /** The semaphore `name`'s permits: free, held, and callers waiting. */
  permits?(name: string): Promise<{ value: number; held: number; waiting: number }>;
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where the server process writes a V8 CPU profile on exit (node --cpu-prof), if set. */
  cpuProfileDir?: string;
  /** Extra `syncmgr serve` arguments (bench/durability.ts: --data-dir, --fsync). */
  serveArgs?: readonly string[];
  /** Extra arguments to node itself (bench/rss.ts: --inspect, to force a GC). */
  nodeArgs?: readonly string[];
}

/** A started subject. */
export interface RunningSubject {
  readonly name: string;
  /** One line for the report: version and how the server runs. */
  readonly description: string;
  /** The server's process id, where there is one process to watch (RSS, CPU time). */
  readonly pid?: number;
  readonly targets: Partial<Record<Transport, Target>>;
  stop(): Promise<void>;
}

export interface Subject {
  readonly name: string;
  start(options: StartOptions): Promise<RunningSubject>;
  /** Opens a client on `target`; used by the bench process and by worker processes alike. */
  open(target: Target): Promise<BenchClient>;
}

/** Repository root, from dist/bench/subjects.js. */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** The dict every syncmgr workload counts in. */
const BENCH_DICT = 'bench';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

/** A built syncmgr checkout whose server the bench can start: this one, or a `--compare-ref` build. */
export interface SyncmgrBuild {
  /** The checkout's root (it holds bin/syncmgr.js and dist/). */
  root: string;
  /** The rows' subject name: `syncmgr` for this working tree, `syncmgr@REF` for another build. */
  name: string;
}

/** This working tree's build. */
export const WORKING_TREE: SyncmgrBuild = { root: ROOT, name: 'syncmgr' };

/**
 * syncmgr, run as `node bin/syncmgr.js serve` in a child process: the server gets its own event
 * loop (and core), as in production, instead of sharing one with the bench's clients. It listens
 * on TCP, a Unix socket and WebSocket at once, all on free ports / a private temp directory.
 *
 * `build` picks whose server runs. The clients are always this working tree's (targets name the
 * `syncmgr` adapter, also in worker processes), so two builds differ only by their server.
 */
export function syncmgrServer(build: SyncmgrBuild): Subject {
  return { ...syncmgrSubject, name: build.name, start: (options) => startSyncmgr(build, options) };
}

async function startSyncmgr(build: SyncmgrBuild, options: StartOptions): Promise<RunningSubject> {
  const cli = join(build.root, 'bin', 'syncmgr.js');
  if (!existsSync(cli) || !existsSync(join(build.root, 'dist', 'src', 'cli', 'main.js'))) {
    throw new Error(`cannot start the server: ${cli} or its build (dist/src/cli) is missing; run \`npm run build\``);
  }
  const authkey = randomBytes(32).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'syncmgr-bench-'));
  const nodeArgs = [...(options.nodeArgs ?? []), ...(options.cpuProfileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${options.cpuProfileDir}`])];
  const child = spawn(
    process.execPath,
    [...nodeArgs, cli, 'serve', '--port', '0', '--socket', join(dir, 'bench.sock'), '--ws-port', '0', '--quiet', ...(options.serveArgs ?? [])],
    // The key travels in the environment, never on the command line (which `ps` shows to all).
    { env: { ...process.env, SYNCMGR_AUTHKEY: authkey }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stopping = false;
  forwardStderr(child, () => stopping);
  // Never leave a server behind, even if the bench dies on an uncaught error.
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const cleanup = (): void => {
    process.off('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
  };

  let targets: Partial<Record<Transport, Target>>;
  try {
    targets = await readListeningLines(child, 3);
  } catch (err) {
    child.kill('SIGKILL');
    cleanup();
    throw err;
  }
  for (const target of Object.values(targets)) target.url = connectionString(parseConnectionString(target.url).endpoint, authkey);

  const version = build === WORKING_TREE ? `syncmgr ${VERSION}` : `${build.name} (built in ${build.root})`;
  return {
    name: build.name,
    pid: child.pid!,
    description: `${version}: \`node bin/syncmgr.js serve${options.serveArgs?.length ? ` ${options.serveArgs.join(' ')}` : ''}\` in a child process (pid ${child.pid})`,
    targets,
    async stop() {
      stopping = true;
      // SIGTERM lets it close gracefully (and write its CPU profile, if one was asked for).
      await stopChild(child, STOP_TIMEOUT_MS);
      cleanup();
    },
  };
}

/** The syncmgr client adapter, shared by every build's subject. */
const syncmgrSubject: Subject = {
  name: 'syncmgr',
  start: (options) => startSyncmgr(WORKING_TREE, options),

  async open(target) {
    const client = await connect({ url: target.url });
    const dict = client.dict<number>(BENCH_DICT);
    return {
      incr: (key) => dict.incr(key),
      get: (key) => dict.get(key),
      async lockedIncr(key) {
        const held = await client.lock(`${BENCH_DICT}:${key}:lock`).acquire();
        try {
          const value = ((await dict.get(key)) ?? 0) + 1;
          await dict.set(key, value);
          return value;
        } finally {
          await held.release();
        }
      },
      async acquirePermit(name) {
        const permit = await client.semaphore(name, 1).acquire();
        return () => permit.release();
      },
      permits: (name) => client.semaphore(name, 1).state(),
      close: () => client.close(),
    };
  },
};

/** Every subject the bench knows, by name. */
export const SUBJECTS: Readonly<Record<string, Subject>> = {
  syncmgr: syncmgrSubject,
  // Redis 7 (/usr/bin/redis-server) through ioredis: bench/peers/redis.ts.
  redis: redisSubject,
  // A bare Node server and client (bench/peers/floor.ts): what any Node pair costs.
  floor: floorSubject,
};

export function subjectOf(target: Target): Subject {
  const subject = SUBJECTS[target.subject];
  if (subject === undefined) throw new Error(`unknown bench subject ${JSON.stringify(target.subject)}`);
  return subject;
}

/** Opens a client for whichever subject `target` belongs to. */
export function openClient(target: Target): Promise<BenchClient> {
  return subjectOf(target).open(target);
}

/**
 * Waits for `count` "listening on URL" lines from `syncmgr serve` and returns them by transport
 * (without key yet). Rejects if the server exits or stays silent too long.
 */
function readListeningLines(child: ChildProcess, count: number): Promise<Partial<Record<Transport, Target>>> {
  return new Promise((resolve, reject) => {
    const targets: Partial<Record<Transport, Target>> = {};
    let found = 0;
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => fail(new Error(`the server printed no address within ${START_TIMEOUT_MS} ms`)), START_TIMEOUT_MS);
    const onExit = (code: number | null, signal: string | null): void =>
      fail(new Error(`the server exited before listening (${signal ?? `exit status ${code}`})`));
    function fail(err: Error): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.close();
      reject(err);
    }
    child.once('exit', onExit);
    lines.on('line', (line) => {
      const match = /listening on (\S+)$/.exec(line);
      if (match === null) return;
      const { endpoint } = parseConnectionString(match[1]!);
      targets[endpoint.transport] = { subject: 'syncmgr', transport: endpoint.transport, url: match[1]! };
      if (++found < count) return;
      clearTimeout(timer);
      child.off('exit', onExit);
      // Keep draining stdout so the server never blocks on a full pipe.
      lines.removeAllListeners('line');
      lines.on('line', () => {});
      resolve(targets);
    });
  });
}

/**
 * Passes the server's stderr on, marked as the server's, except its expected line on SIGTERM: with
 * --quiet anything else there (a crash, a warning) is worth seeing.
 */
function forwardStderr(child: ChildProcess, stopping: () => boolean): void {
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (stopping() && /SIGTERM: shutting down$/.test(line)) return;
    // The inspector's notices, when bench/rss.ts runs the server with --inspect to force a GC.
    if (/^(Debugger (listening|attached|ending)|For help, see: https:\/\/nodejs\.org\/.*inspector)/.test(line)) return;
    process.stderr.write(`[server] ${line}\n`);
  });
}
