/**
 * CPython's multiprocessing manager as a comparison peer. Its protocol is pickle over
 * multiprocessing.connection, so its clients have to be Python: this module starts
 * bench/peers/syncmanager.py as the server, runs the same script as client processes (one request
 * at a time each), and reads the final count back through it. See the .py file for what exactly
 * the server holds and what the clients do.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface, type Interface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { type Measurement, sumCpuMicros, type WorkloadSettings } from '../workloads.js';
import { killOnExit, stopChild } from './proc.js';
import { PeerUnavailable } from './redis.js';

/** The driver stays in the source tree (tsc does not copy .py files to dist/). */
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DRIVER = join(ROOT, 'bench', 'peers', 'syncmanager.py');
const START_TIMEOUT_MS = 10_000;
/** Many Python processes starting at once on two cores take a while to import and connect. */
const READY_TIMEOUT_MS = 120_000;

export interface SyncManagerRun {
  op: 'incr' | 'lockedIncr';
  /** Client processes, each one request at a time. */
  processes: number;
  key: string;
  /** Only one client uses the key: its answers must then be exactly 1, 2, 3... */
  exclusiveKey: boolean;
  settings: WorkloadSettings;
}

export interface RunningSyncManager {
  readonly name: 'syncmanager';
  readonly pid: number;
  readonly description: string;
  run(spec: SyncManagerRun): Promise<Measurement>;
  stop(): Promise<void>;
}

function python(): string {
  return process.env.PYTHON ?? 'python3';
}

export async function startSyncManager(): Promise<RunningSyncManager> {
  let version: string;
  try {
    version = execFileSync(python(), ['-c', 'import sys, multiprocessing.managers; print(sys.version.split()[0])'], { encoding: 'utf8' }).trim();
  } catch {
    throw new PeerUnavailable(`${python()} (with multiprocessing) not found: SyncManager rows are skipped. Install python3 to compare against it.`);
  }
  if (!existsSync(DRIVER)) throw new Error(`the SyncManager driver ${DRIVER} is missing`);
  const env = {
    ...process.env,
    SYNCMGR_BENCH_PY_ADDR: '127.0.0.1:0',
    SYNCMGR_BENCH_PY_AUTHKEY: randomBytes(32).toString('hex'),
    PYTHONUNBUFFERED: '1',
  };
  const server = spawn(python(), [DRIVER, 'server'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const undoKill = killOnExit(server);
  forwardStderr(server, '[syncmanager]');
  const lines = createInterface({ input: server.stdout! });
  let listening: string;
  try {
    listening = await nextLine(server, lines, /^listening /, START_TIMEOUT_MS, 'the SyncManager server');
  } catch (err) {
    server.kill('SIGKILL');
    undoKill();
    throw err;
  }
  lines.on('line', () => {});
  const [, host, port] = listening.split(' ');
  env.SYNCMGR_BENCH_PY_ADDR = `${host}:${port}`;

  return {
    name: 'syncmanager',
    pid: server.pid!,
    description:
      `CPython ${version} multiprocessing SyncManager on ${host}:${port} (pid ${server.pid}): registered Counter ` +
      '(incr under a threading.Lock in the server), manager Lock + DictProxy; Python client processes, one request at a time each',
    async run(spec) {
      const clients = Array.from({ length: spec.processes }, () => spawn(python(), [DRIVER, 'client', spec.op], { env, stdio: ['pipe', 'pipe', 'pipe'] }));
      const undo = clients.map(killOnExit);
      try {
        const readers = clients.map((child) => {
          forwardStderr(child, `[syncmanager client ${child.pid}]`);
          return createInterface({ input: child.stdout! });
        });
        await Promise.all(clients.map((child, i) => nextLine(child, readers[i]!, /^ready$/, READY_TIMEOUT_MS, `SyncManager client ${child.pid}`)));
        const runLine = `${JSON.stringify({ key: spec.key, exclusiveKey: spec.exclusiveKey, warmupMs: spec.settings.warmupMs, durationMs: spec.settings.durationMs })}\n`;
        for (const child of clients) child.stdin!.write(runLine);
        const timeout = spec.settings.warmupMs + spec.settings.durationMs + READY_TIMEOUT_MS;
        const results = await Promise.all(
          clients.map(async (child, i) => {
            const line = await nextLine(child, readers[i]!, /^\{/, timeout, `SyncManager client ${child.pid}`);
            return JSON.parse(line) as { ops: number; warmupOps: number; startMs: number; endMs: number; latenciesNs: number[]; cpuMicros: { user: number; system: number } };
          }),
        );
        for (const child of clients) child.stdin!.end();
        const ops = results.reduce((sum, result) => sum + result.ops, 0);
        const startMs = Math.min(...results.map((result) => result.startMs));
        const endMs = Math.max(...results.map((result) => result.endMs));
        const actual = JSON.parse(
          execFileSync(python(), [DRIVER, 'read', spec.op === 'incr' ? 'counter' : 'dict', spec.key], { env, encoding: 'utf8' }).trim(),
        ) as number | null;
        return {
          ops,
          warmupOps: results.reduce((sum, result) => sum + result.warmupOps, 0),
          seconds: (endMs - startMs) / 1000,
          latenciesNs: results.flatMap((result) => result.latenciesNs),
          clientCpuSeconds: sumCpuMicros(results.map((result) => result.cpuMicros)),
          check: { expected: ops, actual },
        };
      } finally {
        await Promise.all(clients.map((child) => stopChild(child, 2000)));
        for (const undoOne of undo) undoOne();
      }
    },
    async stop() {
      await stopChild(server);
      undoKill();
    },
  };
}

function forwardStderr(child: ChildProcess, label: string): void {
  createInterface({ input: child.stderr! }).on('line', (line) => process.stderr.write(`${label} ${line}\n`));
}

/** The next stdout line matching `pattern` (others are ignored); rejects on exit or timeout. */
function nextLine(child: ChildProcess, lines: Interface, pattern: RegExp, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => finish(new Error(`${what} said nothing matching ${pattern} within ${timeoutMs} ms`)), timeoutMs);
    const onExit = (code: number | null, signal: string | null): void =>
      finish(new Error(`${what} exited (${signal ?? `exit status ${code}`}) before printing ${pattern}`));
    const onLine = (line: string): void => {
      if (pattern.test(line)) finish(undefined, line);
    };
    function finish(err: Error | undefined, line?: string): void {
      clearTimeout(timer);
      child.off('exit', onExit);
      lines.off('line', onLine);
      if (err === undefined) resolve(line!);
      else reject(err);
    }
    child.once('exit', onExit);
    lines.on('line', onLine);
  });
}
