/**
 * The workload registry. A workload drives one subject over one transport for a fixed time and
 * reports what it did plus a count to check; run.ts handles warm-up settings, repetitions, the
 * check and the table. To add one (lock hand-offs, queues...), write a {@link Workload} and append
 * it to {@link WORKLOADS}.
 */
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { incrLoop, type LoopOp, type RunMessage, TARGET_VARIABLE, warmUp, type WorkerMessage } from './drive.js';
import type { BenchClient, Target, Transport } from './subjects.js';

export interface WorkloadSettings {
  /** Time spent on the same connection(s) before measuring, so JIT and buffers are warm. */
  warmupMs: number;
  /** Measured time. */
  durationMs: number;
}

export interface WorkloadContext {
  readonly target: Target;
  readonly settings: WorkloadSettings;
  /** A key no other run touches: counters on it start from zero. */
  readonly key: string;
  /** Opens a client on the target (the workload closes it). */
  open(): Promise<BenchClient>;
}

/** The count a run must find on the server: anything else means increments were lost or doubled. */
export interface CountCheck {
  /** What the clients counted as acknowledged. */
  expected: number;
  /** What the server holds afterwards. */
  actual: number | null;
  /** What a mismatch means, when it is not lost or doubled increments. */
  meaning?: string;
}

export interface Measurement {
  /** Operations completed in the measured window. */
  ops: number;
  /** Operations completed in the warm-up before it: the server served those too. */
  warmupOps: number;
  /** Length of the measured window. */
  seconds: number;
  /** Per-operation latencies in ns, if the workload measures them. */
  latenciesNs?: ArrayLike<number>;
  /** CPU time of the client processes (all of them) over the measured window, when known. */
  clientCpuSeconds?: CpuSeconds;
  check: CountCheck;
}

export interface CpuSeconds {
  user: number;
  system: number;
}

/** Sums CPU times reported in microseconds (process.cpuUsage, or the same from a peer's clients). */
export function sumCpuMicros(parts: ReadonlyArray<{ user: number; system: number }>): CpuSeconds {
  return {
    user: parts.reduce((sum, part) => sum + part.user, 0) / 1e6,
    system: parts.reduce((sum, part) => sum + part.system, 0) / 1e6,
  };
}

export interface Workload {
  /** Short, stable name: the table's first column and the `--only` filter. */
  readonly name: string;
  /** One line saying what is measured. */
  readonly summary: string;
  /** The transports it runs over by default (each is a row of its own). */
  readonly transports: readonly Transport[];
  /** The subjects it can run against, when not all (a peer may lack semaphores...). */
  readonly subjects?: readonly string[];
  run(context: WorkloadContext): Promise<Measurement>;
}

/**
 * `lanes` increments kept in flight on one connection, on a key only this client uses. With one
 * lane it is the round-trip latency of a single client; with many, the throughput of pipelining.
 */
export function oneClient(name: string, summary: string, lanes: number, transports: readonly Transport[]): Workload {
  return {
    name,
    summary,
    transports,
    async run({ open, key, settings }) {
      const client = await open();
      try {
        const warmupOps = await warmUp(client, { key, lanes, durationMs: settings.warmupMs, exclusiveKey: true });
        const result = await incrLoop(client, { key, lanes, durationMs: settings.durationMs, recordLatency: true, exclusiveKey: true });
        return {
          ops: result.ops,
          warmupOps,
          seconds: (result.endMs - result.startMs) / 1000,
          latenciesNs: result.latenciesNs,
          clientCpuSeconds: sumCpuMicros([result.cpuMicros]),
          check: { expected: result.ops, actual: await client.get(key) },
        };
      } finally {
        await client.close();
      }
    },
  };
}

/**
 * `processes` worker processes (bench/worker.ts), each with its own connection, incrementing the
 * same key one request at a time: how the server serialises contended writes. Throughput is all
 * increments over the span from the first worker's start to the last one's end. With `op`
 * 'lockedIncr' each step is a locked read-modify-write instead (so an exact count also proves
 * mutual exclusion); with 'handoff' the processes pass the one permit of a semaphore around.
 */
export function contended(name: string, summary: string, processes: number, transports: readonly Transport[], op: LoopOp = 'incr'): Workload {
  return {
    name,
    summary,
    transports,
    async run({ open, key, settings, target }) {
      const workers = Array.from({ length: processes }, () => startWorker(target));
      try {
        await Promise.all(workers.map((worker) => worker.ready));
        const run: RunMessage = { type: 'run', key, op, lanes: 1, warmupMs: settings.warmupMs, durationMs: settings.durationMs };
        for (const worker of workers) worker.child.send(run);
        const results = await Promise.all(workers.map((worker) => worker.result));
        const ops = results.reduce((sum, result) => sum + result.ops, 0);
        const startMs = Math.min(...results.map((result) => result.startMs));
        const endMs = Math.max(...results.map((result) => result.endMs));
        const client = await open();
        let check: CountCheck;
        try {
          check = op === 'handoff' ? await permitCheck(client, key) : { expected: ops, actual: await client.get(key) };
        } finally {
          await client.close();
        }
        return {
          ops,
          warmupOps: results.reduce((sum, result) => sum + result.warmupOps, 0),
          seconds: (endMs - startMs) / 1000,
          latenciesNs: results.flatMap((result) => result.latenciesNs),
          clientCpuSeconds: sumCpuMicros(results.map((result) => result.cpuMicros)),
          check,
        };
      } finally {
        for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill();
      }
    },
  };
}

/**
 * After a hand-off run the semaphore must be as it started: its one permit free, none held, no one
 * waiting (a permit lost or granted twice shows here).
 */
async function permitCheck(client: BenchClient, name: string): Promise<CountCheck> {
  if (client.permits === undefined) throw new Error('this subject cannot report a semaphore\'s permits (BenchClient.permits)');
  const state = await client.permits(name);
  return {
    expected: 1,
    actual: state.held === 0 && state.waiting === 0 ? state.value : -1,
    meaning: `the semaphore ${JSON.stringify(name)} should be back to 1 free permit, 0 held, 0 waiting; it is ${JSON.stringify(state)}`,
  };
}

interface WorkerHandle {
  child: ReturnType<typeof fork>;
  ready: Promise<void>;
  result: Promise<Extract<WorkerMessage, { type: 'result' }>>;
}

const WORKER_SCRIPT = fileURLToPath(new URL('./worker.js', import.meta.url));

function startWorker(target: Target): WorkerHandle {
  const child = fork(WORKER_SCRIPT, [], {
    // The target holds the key: environment, not argv.
    env: { ...process.env, [TARGET_VARIABLE]: JSON.stringify(target) },
    // 'advanced' (structured clone) carries the latency arrays faster than JSON would.
    serialization: 'advanced',
  });
  const died = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => reject(new Error(`bench worker ${child.pid} exited early (${signal ?? `exit status ${code}`})`)));
  });
  died.catch(() => {}); // only observed through `ready` and `result`
  const message = (type: WorkerMessage['type']) =>
    Promise.race([
      new Promise<WorkerMessage>((resolve) => {
        const onMessage = (received: WorkerMessage): void => {
          if (received.type !== type) return;
          child.off('message', onMessage);
          resolve(received);
        };
        child.on('message', onMessage);
      }),
      died,
    ]);
  // Both listeners are attached now, so neither message can slip by unobserved.
  const ready = message('ready').then(() => undefined);
  const result = message('result') as Promise<Extract<WorkerMessage, { type: 'result' }>>;
  result.catch(() => {}); // a failure is reported through `ready` or awaited later
  return { child, ready, result };
}

/** Every workload, in the order they run. */
export const WORKLOADS: readonly Workload[] = [
  oneClient('incr-seq', 'one client, one incr at a time: round-trip latency', 1, ['tcp', 'unix', 'ws']),
  oneClient('incr-pipelined-64', 'one client, 64 incr in flight on one connection: pipelined throughput', 64, ['tcp']),
  contended('incr-contended-4proc', '4 processes, one connection each, incr on the same key', 4, ['tcp']),
  contended('locked-rmw-4proc', '4 processes: acquire a lock, get, set +1, release (ops = read-modify-writes)', 4, ['tcp'], 'lockedIncr'),
  {
    ...contended(
      'semaphore-handoff-2proc',
      'two processes pass one semaphore permit back and forth (ops = hand-offs; latency = waiting for the permit)',
      2,
      ['tcp'],
      'handoff',
    ),
    subjects: ['syncmgr'],
  },
];

/**
 * The performance targets' short names (W1-W4 of `--compare` and of issue 19's "no fall" rule) for
 * the registry's workloads that measure the same thing; W1 is incr-seq's tcp row.
 */
export const WORKLOAD_IDS: Readonly<Record<string, string>> = {
  'incr-seq': 'W1',
  'incr-pipelined-64': 'W2',
  'incr-contended-4proc': 'W3',
  'locked-rmw-4proc': 'W4',
};

/**
 * The workloads named in `names` (all when empty), by name or short name (W1...), in registry
 * order. @throws on an unknown name.
 */
export function selectWorkloads(names: readonly string[]): Workload[] {
  const wanted = names.map((name) => Object.keys(WORKLOAD_IDS).find((workload) => WORKLOAD_IDS[workload] === name.toUpperCase()) ?? name);
  const unknown = names.filter((_, i) => !WORKLOADS.some((workload) => workload.name === wanted[i]));
  if (unknown.length > 0) {
    const known = WORKLOADS.map((workload) => (WORKLOAD_IDS[workload.name] === undefined ? workload.name : `${workload.name} (${WORKLOAD_IDS[workload.name]})`));
    throw new Error(`unknown workload ${unknown.join(', ')}; known: ${known.join(', ')}`);
  }
  return names.length === 0 ? [...WORKLOADS] : WORKLOADS.filter((workload) => wanted.includes(workload.name));
}
