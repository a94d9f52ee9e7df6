/**
 * The measuring loop shared by the bench process and its worker processes: keep `lanes` increments
 * in flight on one client for a fixed time, timing each one. Also the messages between the bench
 * and bench/worker.ts.
 */
import type { BenchClient } from './subjects.js';
import { wallClockMs } from './stats.js';

/**
 * What one step of the loop does. `incr`: one increment. `lockedIncr`: a locked read-modify-write
 * (acquire the key's lock, get, set +1, release; the subject's {@link BenchClient.lockedIncr}).
 * `handoff`: take the one permit of the semaphore named `key` and give it back (only the wait for
 * the permit is timed: with two processes doing this, each grant is a hand-off from the other).
 */
export type LoopOp = 'incr' | 'lockedIncr' | 'handoff';

export interface IncrLoopOptions {
  key: string;
  /** Default 'incr'. */
  op?: LoopOp;
  /** Requests kept in flight at once on this client: 1 is strictly sequential. */
  lanes: number;
  durationMs: number;
  /** Record each request's latency (send to answer). */
  recordLatency: boolean;
  /**
   * `key` is fresh and nobody else touches it: with one lane the answers must then be exactly
   * 1, 2, 3..., which catches lost or doubled increments (and a reused key) as they happen.
   */
  exclusiveKey: boolean;
}

export interface IncrLoopResult {
  /** Increments answered successfully. */
  ops: number;
  /** Wall-clock window of the run (ms since the epoch), comparable across processes. */
  startMs: number;
  endMs: number;
  /** Latencies in nanoseconds, one per answered request (empty unless recordLatency). */
  latenciesNs: number[];
  /** CPU time this process used during the run, in microseconds (process.cpuUsage). */
  cpuMicros: { user: number; system: number };
}

/**
 * Runs increments until `durationMs` has passed, then waits for those still in flight.
 * Rejects on the first failed request, or when an exclusive key's answers skip or repeat.
 */
export async function incrLoop(client: BenchClient, options: IncrLoopOptions): Promise<IncrLoopResult> {
  const { key, lanes, recordLatency } = options;
  const op = options.op ?? 'incr';
  const checkSequence = options.exclusiveKey && lanes === 1 && op !== 'handoff';
  const step = stepFor(client, op, key);
  const latenciesNs: number[] = [];
  let ops = 0;
  let last = 0;
  const startMs = wallClockMs();
  const startCpu = process.cpuUsage();
  const deadline = process.hrtime.bigint() + BigInt(Math.round(options.durationMs * 1e6));

  async function lane(): Promise<void> {
    let now = process.hrtime.bigint();
    while (now < deadline) {
      const sent = now;
      if (op === 'handoff') {
        const release = await client.acquirePermit!(key);
        now = process.hrtime.bigint();
        if (recordLatency) latenciesNs.push(Number(now - sent));
        await release();
        now = process.hrtime.bigint();
        ops++;
        continue;
      }
      const value = await step();
      now = process.hrtime.bigint();
      if (recordLatency) latenciesNs.push(Number(now - sent));
      if (checkSequence) {
        if (value !== last + 1) {
          throw new Error(
            `incr on ${JSON.stringify(key)} answered ${value} where ${last + 1} was due: an increment was lost or applied twice, or the key was not fresh`,
          );
        }
        last = value;
      }
      ops++;
      // Each lane sends its next request as soon as the previous answer is in, so exactly `lanes`
      // requests are outstanding at any time (until the deadline).
    }
  }

  await Promise.all(Array.from({ length: lanes }, lane));
  return { ops, startMs, endMs: wallClockMs(), latenciesNs, cpuMicros: process.cpuUsage(startCpu) };
}

/**
 * The warm-up before a measured {@link incrLoop} on `key`: the same loop, latencies recorded and
 * dropped, for half the time on one key of its own and half on another. Resolves with the
 * operations done. Why: V8 optimizes a client's hot path with feedback from the calls it saw, and
 * throws that code away the first time a branch it never saw runs. A warm-up on one key, without
 * latencies, left two such branches for the measurement's first steps: the loop's latency record,
 * and in syncmgr's client the caches of a new object's encoded requests (`--trace-deopt` in each
 * W4 worker: `message`, `call` and `get` thrown away, at request-targets.js). The switch of keys
 * halfway through takes them while warming up.
 */
export async function warmUp(client: BenchClient, options: Omit<IncrLoopOptions, 'recordLatency'>): Promise<number> {
  let ops = 0;
  for (const half of [1, 2]) {
    const key = `${options.key}:warmup${half}`;
    ops += (await incrLoop(client, { ...options, key, durationMs: options.durationMs / 2, recordLatency: true })).ops;
  }
  return ops;
}

function stepFor(client: BenchClient, op: LoopOp, key: string): () => Promise<number> {
  switch (op) {
    case 'incr':
      return () => client.incr(key);
    case 'lockedIncr': {
      const lockedIncr = client.lockedIncr;
      if (lockedIncr === undefined) throw new Error('this subject has no locked read-modify-write (BenchClient.lockedIncr)');
      return () => lockedIncr.call(client, key);
    }
    case 'handoff':
      if (client.acquirePermit === undefined) throw new Error('this subject has no semaphore (BenchClient.acquirePermit)');
      return () => Promise.reject(new Error('handoff has no single step'));
  }
}

/** Environment variable that hands a worker process its {@link Target} (JSON; it holds the key). */
export const TARGET_VARIABLE = 'SYNCMGR_BENCH_TARGET';

/** Parent → worker: start warming up, then measure. */
export interface RunMessage {
  type: 'run';
  key: string;
  /** Default 'incr'. */
  op?: LoopOp;
  lanes: number;
  warmupMs: number;
  durationMs: number;
}

/** Worker → parent. */
export type WorkerMessage = { type: 'ready' } | ({ type: 'result'; warmupOps: number } & IncrLoopResult);
