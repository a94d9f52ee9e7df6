/**
 * Redis as a comparison peer: Debian's redis-server (7.x), started by the bench on 127.0.0.1 on a
 * free port with persistence off, stopped by its PID afterwards, and driven by ioredis with its
 * defaults (no auto-pipelining: requests leave as they are made, answers come back in order).
 *
 * The counters are plain string keys (INCR/GET). The locked read-modify-write is what a careful
 * Redis user writes: a `SET lock token NX PX 10000` spin lock (retried at once until it succeeds),
 * GET and SET of the counter, and a compare-and-delete release in Lua (EVALSHA through
 * ioredis's defineCommand), so a client never deletes a lock that expired and went to another.
 *
 * If redis-server is not installed, {@link redisSubject}.start throws a {@link PeerUnavailable}
 * whose message says how to install it; `--compare` prints it and goes on without Redis.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';
import { wallClockMs } from '../stats.js';
import type { BenchClient, RunningSubject, Subject, Target } from '../subjects.js';
import { sumCpuMicros, type Workload } from '../workloads.js';
import { findExecutable, freePort, killOnExit, sleep, stopChild } from './proc.js';

/** A peer that cannot run on this machine: the comparison notes it and goes on without it. */
export class PeerUnavailable extends Error {
  override get name(): string {
    return 'PeerUnavailable';
  }
}

export const REDIS_SERVER_PATHS = ['/usr/bin/redis-server', '/usr/local/bin/redis-server'];
const START_TIMEOUT_MS = 10_000;

/** Deletes the lock only if it still holds our token: 1 if deleted, 0 if not ours any more. */
const UNLOCK_LUA = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
/** How long a spin-lock holder has before Redis expires its lock. */
const LOCK_TTL_MS = 10_000;

type BenchRedis = Redis & { benchUnlock(key: string, token: string): Promise<number> };

/** Connects ioredis, with its defaults, to a target started by {@link redisSubject}. */
export async function openRedis(target: Target): Promise<BenchRedis> {
  const redis = new Redis(target.url, { lazyConnect: true }) as BenchRedis;
  redis.defineCommand('benchUnlock', { numberOfKeys: 1, lua: UNLOCK_LUA });
  await redis.connect();
  return redis;
}

/** The installed ioredis version, for the report. */
function ioredisVersion(): string {
  try {
    return execFileSync(process.execPath, ['-p', "require('ioredis/package.json').version"], { encoding: 'utf8' }).trim();
  } catch {
    return '?';
  }
}

export interface RunningRedis extends RunningSubject {
  readonly pid: number;
}

export const redisSubject: Subject & { start(): Promise<RunningRedis> } = {
  name: 'redis',

  async start() {
    // SYNCMGR_BENCH_REDIS_SERVER names another binary (or a missing one, to try the skip).
    const paths = process.env.SYNCMGR_BENCH_REDIS_SERVER ? [process.env.SYNCMGR_BENCH_REDIS_SERVER] : REDIS_SERVER_PATHS;
    const binary = findExecutable(paths);
    if (binary === undefined) {
      throw new PeerUnavailable(
        `redis-server not found (looked for ${paths.join(', ')}): Redis rows are skipped. ` +
          'Install it with `apt-get update && apt-get install -y redis-server` (as root) to compare against Redis.',
      );
    }
    const version = /v=(\S+)/.exec(execFileSync(binary, ['--version'], { encoding: 'utf8' }))?.[1] ?? '?';
    const password = randomBytes(24).toString('hex');
    const dir = mkdtempSync(join(tmpdir(), 'syncmgr-bench-redis-'));
    // The password goes in a private config file, not on the command line (which `ps` shows).
    const config = join(dir, 'redis.conf');
    writeFileSync(config, `requirepass ${password}\n`, { mode: 0o600 });
    // A freshly freed port can be taken in between; try a few.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const child = spawn(
        binary,
        [config, '--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      const undoKill = killOnExit(child);
      const log: string[] = [];
      for (const stream of [child.stdout!, child.stderr!]) createInterface({ input: stream }).on('line', (line) => log.push(line));
      const target: Target = { subject: 'redis', transport: 'tcp', url: `redis://:${password}@127.0.0.1:${port}` };
      try {
        await waitReady(child, target, log);
      } catch (err) {
        child.kill('SIGKILL');
        undoKill();
        if (attempt < 3 && /Address already in use/i.test(log.join('\n'))) continue;
        rmSync(dir, { recursive: true, force: true });
        throw err;
      }
      return {
        name: 'redis',
        pid: child.pid!,
        description: `Redis ${version}: ${binary} on 127.0.0.1:${port} (pid ${child.pid}), --save '' --appendonly no, driven by ioredis ${ioredisVersion()} (defaults)`,
        targets: { tcp: target },
        async stop() {
          await stopChild(child);
          undoKill();
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
  },

  async open(target) {
    const redis = await openRedis(target);
    const prefix = randomBytes(6).toString('hex');
    let acquisitions = 0;
    const client: BenchClient = {
      async incr(key) {
        return redis.incr(key);
      },
      async get(key) {
        const value = await redis.get(key);
        return value === null ? null : Number(value);
      },
      async lockedIncr(key) {
        const lock = `${key}:lock`;
        const token = `${prefix}:${++acquisitions}`;
        // Spin: each try is one round trip, so waiters poll at the rate the server answers.
        while ((await redis.set(lock, token, 'PX', LOCK_TTL_MS, 'NX')) !== 'OK');
        let value: number;
        try {
          value = Number((await redis.get(key)) ?? 0) + 1;
          await redis.set(key, String(value));
        } finally {
          const released = await redis.benchUnlock(lock, token);
          if (released !== 1) throw new Error(`the Redis lock ${lock} expired while held (token ${token}): the count can no longer be trusted`);
        }
        return value;
      },
      async close() {
        await redis.quit();
      },
    };
    return client;
  },
};

/** Resolves once redis-server answers PING; rejects if it exits or stays silent too long. */
export async function waitReady(child: ChildProcess, target: Target, log: string[]): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`redis-server exited before it was ready (${child.signalCode ?? `exit status ${child.exitCode}`}): ${log.join(' | ')}`);
    }
    const probe = new Redis(target.url, { lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    probe.on('error', () => {});
    try {
      await probe.connect();
      if ((await probe.ping()) === 'PONG') return;
    } catch {
      // not listening yet
    } finally {
      probe.disconnect();
    }
    await sleep(25);
  }
  throw new Error(`redis-server did not answer within ${START_TIMEOUT_MS} ms: ${log.join(' | ')}`);
}

/**
 * W2's second Redis figure: one ioredis client sending explicit pipelines of `batch` INCRs, one
 * pipeline at a time (`redis.pipeline()...exec()`), which is how a Redis user batches by hand.
 * Each answer must be exactly one more than the one before. Latencies are per pipeline.
 */
export function redisPipelineWorkload(batch: number): Workload {
  return {
    name: `incr-pipeline-${batch}`,
    summary: `one ioredis client, explicit pipelines of ${batch} INCR, one pipeline at a time (latency per pipeline)`,
    transports: ['tcp'],
    async run({ target, key, settings }) {
      const redis = await openRedis(target);
      try {
        const loop = async (key: string, durationMs: number, record: boolean) => {
          const latenciesNs: number[] = [];
          let ops = 0;
          const startMs = wallClockMs();
          const startCpu = process.cpuUsage();
          const deadline = process.hrtime.bigint() + BigInt(Math.round(durationMs * 1e6));
          let now = process.hrtime.bigint();
          while (now < deadline) {
            const pipeline = redis.pipeline();
            for (let i = 0; i < batch; i++) pipeline.incr(key);
            const sent = now;
            const answers = (await pipeline.exec()) ?? [];
            now = process.hrtime.bigint();
            if (record) latenciesNs.push(Number(now - sent));
            for (const [err, value] of answers) {
              if (err !== null) throw err;
              if (value !== ops + 1) throw new Error(`INCR ${key} answered ${String(value)} where ${ops + 1} was due`);
              ops++;
            }
          }
          return { ops, startMs, endMs: wallClockMs(), latenciesNs, cpuMicros: process.cpuUsage(startCpu) };
        };
        const warmup = await loop(`${key}:warmup`, settings.warmupMs, false);
        const result = await loop(key, settings.durationMs, true);
        const actual = await redis.get(key);
        return {
          ops: result.ops,
          warmupOps: warmup.ops,
          seconds: (result.endMs - result.startMs) / 1000,
          latenciesNs: result.latenciesNs,
          clientCpuSeconds: sumCpuMicros([result.cpuMicros]),
          check: { expected: result.ops, actual: actual === null ? null : Number(actual) },
        };
      } finally {
        await redis.quit();
      }
    },
  };
}
