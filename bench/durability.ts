/**
 * `npm run bench -- --durability`: what persistence costs. W2 (one client, 64 incr in flight) and
 * W3 (4 processes, incr on one key) against syncmgr in memory and with `--data-dir` under each
 * fsync policy, and against Redis with `appendonly yes` and the same `appendfsync`, interleaved
 * per repetition (the order rotating) so that drift in the machine hits all alike. Every server
 * is a fresh child process with its data on the same disk (the OS temp directory).
 *
 * Prints the rows (medians over reps) and the ratios to in-memory syncmgr against the targets of
 * issue 5 (`always` >= 0.5x at 64 in flight, `everysec` >= 0.9x), and to Redis under the same
 * policy. Every run's count is checked as in the rest of the bench.
 *
 *   npm run bench -- --durability                     3 reps, 3 s warm-up + 2.5 s per run
 *   npm run bench -- --durability --reps 5 --duration 4
 *   npm run bench -- --durability --quick             smoke run
 *   npm run bench -- --durability --only W2 --policies always,everysec --no-redis
 *   npm run bench -- --durability --json > durability.json
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { findExecutable, freePort, killOnExit, stopChild } from './peers/proc.js';
import { PeerUnavailable, REDIS_SERVER_PATHS, waitReady } from './peers/redis.js';
import { makeRow, type ResultRow, ResultsTable, type RunResult, toRunResult } from './results.js';
import { median } from './stats.js';
import { SUBJECTS, type Target } from './subjects.js';
import { contended, type Measurement, oneClient, type Workload, type WorkloadSettings } from './workloads.js';
import { choose, commonOptions, progress, runSettings } from './cli-args.js';
import { machineInfo } from './machine.js';

const QUICK: WorkloadSettings = { warmupMs: 100, durationMs: 400 };

type WorkloadId = 'W2' | 'W3';
type Policy = 'always' | 'everysec' | 'no';
const WORKLOAD_IDS: readonly WorkloadId[] = ['W2', 'W3'];
const POLICIES: readonly Policy[] = ['always', 'everysec', 'no'];
const SHAPES: Record<WorkloadId, { title: string; shape: Workload }> = {
  W2: { title: 'W2 64 in flight', shape: oneClient('W2', '', 64, ['tcp']) },
  W3: { title: 'W3 4 proc incr', shape: contended('W3', '', 4, ['tcp']) },
};
/** Issue 5's targets: syncmgr under a policy / syncmgr in memory. */
const TARGETS: ReadonlyArray<{ workload: WorkloadId; policy: Policy; atLeast: number }> = [
  { workload: 'W2', policy: 'always', atLeast: 0.5 },
  { workload: 'W2', policy: 'everysec', atLeast: 0.9 },
  { workload: 'W3', policy: 'everysec', atLeast: 0.9 },
];

interface Options {
  reps: number;
  settings: WorkloadSettings;
  json: boolean;
  only: WorkloadId[];
  policies: Policy[];
  redis: boolean;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...commonOptions(3),
      policies: { type: 'string', default: POLICIES.join(',') },
      'no-redis': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const { reps, settings } = runSettings(values, QUICK);
  const only = choose(values.only, WORKLOAD_IDS, 'workload');
  const policies = choose(values.policies, POLICIES, 'policy');
  return { reps, settings, json: values.json, only: only.length > 0 ? only : [...WORKLOAD_IDS], policies, redis: !values['no-redis'] };
}

/** One server configuration: in memory, or persisting under a policy. */
interface Config {
  subject: 'syncmgr' | 'redis';
  /** `memory` or the fsync policy. */
  policy: Policy | 'memory';
  label: string;
  description: string;
  target: Target;
  stop(): Promise<void>;
}

async function startSyncmgr(policy: Policy | 'memory'): Promise<Config> {
  const dir = policy === 'memory' ? undefined : mkdtempSync(join(tmpdir(), 'syncmgr-bench-data-'));
  const running = await SUBJECTS.syncmgr!.start(dir === undefined ? {} : { serveArgs: ['--data-dir', dir, '--fsync', policy] });
  return {
    subject: 'syncmgr',
    policy,
    label: policy === 'memory' ? 'in memory' : `--fsync ${policy}`,
    description: running.description,
    target: running.targets.tcp!,
    async stop() {
      await running.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** redis-server with `appendonly yes` and `appendfsync <policy>`, its data in a private directory. */
async function startRedis(policy: Policy): Promise<Config> {
  const binary = findExecutable(REDIS_SERVER_PATHS);
  if (binary === undefined) {
    throw new PeerUnavailable(
      `redis-server not found (looked for ${REDIS_SERVER_PATHS.join(', ')}): the Redis rows are skipped. ` +
        'Install it with `apt-get update && apt-get install -y redis-server` (as root) to compare against Redis.',
    );
  }
  const password = randomBytes(24).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'syncmgr-bench-redis-aof-'));
  const config = join(dir, 'redis.conf');
  // The password goes in a private config file, not on the command line (which `ps` shows).
  writeFileSync(config, `requirepass ${password}\n`, { mode: 0o600 });
  const port = await freePort();
  const args = ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'yes', '--appendfsync', policy];
  const child = spawn(binary, [config, ...args, '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const undoKill = killOnExit(child);
  const target: Target = { subject: 'redis', transport: 'tcp', url: `redis://:${password}@127.0.0.1:${port}` };
  try {
    await waitReady(child, target, []);
  } catch (err) {
    child.kill('SIGKILL');
    undoKill();
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  return {
    subject: 'redis',
    policy,
    label: `appendfsync ${policy}`,
    description: `Redis: ${binary} ${args.join(' ')} (pid ${child.pid}), AOF in ${dir}, driven by ioredis (defaults)`,
    target,
    async stop() {
      await stopChild(child);
      undoKill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

class CountCheckError extends Error {
  override get name(): string {
    return 'CountCheckError';
  }
}

function verify(measurement: Measurement, what: string): void {
  const { expected, actual } = measurement.check;
  if (actual !== expected) {
    throw new CountCheckError(`COUNT CHECK FAILED for ${what}: the clients had ${expected} increments acknowledged, the server holds ${actual}`);
  }
}

export interface DurabilityRatio {
  label: string;
  median: number;
  perRep: number[];
  target?: string;
  met?: boolean;
}

function ratio(label: string, mine: ResultRow, theirs: ResultRow, atLeast?: number): DurabilityRatio {
  const reps = Math.min(mine.runs.length, theirs.runs.length);
  const perRep = Array.from({ length: reps }, (_, i) => mine.runs[i]!.opsPerSec / theirs.runs[i]!.opsPerSec);
  const mid = median(perRep) ?? Number.NaN;
  return { label, median: mid, perRep, ...(atLeast !== undefined && { target: `>= ${atLeast.toFixed(1)}x`, met: mid >= atLeast }) };
}

function renderRatios(ratios: DurabilityRatio[]): string {
  const cells = [
    ['ratio', 'median', 'per rep', 'target', 'met'],
    ...ratios.map((r) => [r.label, `${r.median.toFixed(2)}x`, r.perRep.map((value) => value.toFixed(2)).join(' '), r.target ?? '-', r.met === undefined ? '' : r.met ? 'yes' : 'NO']),
  ];
  const widths = cells[0]!.map((_, index) => Math.max(...cells.map((line) => line[index]!.length)));
  const format = (line: string[]): string => line.map((cell, index) => (index === 1 ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join('  ').trimEnd();
  return [format(cells[0]!), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.slice(1).map(format)].join('\n');
}

/** Runs the durability figures; resolves with the exit status. */
export async function runDurability(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const meta = {
    ...machineInfo(),
    dataOn: tmpdir(),
    warmupMs: options.settings.warmupMs,
    durationMs: options.settings.durationMs,
    reps: options.reps,
    servers: [] as string[],
    skipped: [] as string[],
  };
  const describe = options.json ? progress : (line: string) => console.log(line);
  describe(`node ${meta.node}, ${meta.cpu}; data directories under ${meta.dataOn}`);
  describe(`durability: ${options.reps} interleaved reps of ${options.only.join(', ')}; ${meta.warmupMs} ms warm-up + ${meta.durationMs} ms measured per run`);

  const configs: Config[] = [];
  const runs = new Map<string, RunResult[]>();
  let failure: unknown;
  try {
    for (const policy of ['memory', ...options.policies] as const) configs.push(await startSyncmgr(policy));
    if (options.redis) {
      try {
        for (const policy of options.policies) configs.push(await startRedis(policy));
      } catch (err) {
        if (!(err instanceof PeerUnavailable)) throw err;
        meta.skipped.push(err.message);
        describe(`  SKIPPED Redis: ${err.message}`);
      }
    }
    for (const config of configs) {
      meta.servers.push(config.description);
      describe(`  ${config.description}`);
    }
    let runNumber = 0;
    for (let rep = 1; rep <= options.reps; rep++) {
      for (const workload of options.only) {
        const shift = (rep - 1) % configs.length;
        for (const config of [...configs.slice(shift), ...configs.slice(0, shift)]) {
          const what = `${SHAPES[workload].title} / ${config.subject} ${config.label} (rep ${rep}/${options.reps})`;
          progress(`running ${what}...`);
          const subject = SUBJECTS[config.target.subject]!;
          const measurement = await SHAPES[workload].shape.run({
            target: config.target,
            settings: options.settings,
            key: `dur:${workload}:${++runNumber}:${process.pid}`,
            open: () => subject.open(config.target),
          });
          verify(measurement, what);
          const key = `${workload}|${config.subject}|${config.label}`;
          runs.set(key, [...(runs.get(key) ?? []), toRunResult(measurement)]);
        }
      }
    }
  } catch (err) {
    failure = err;
  } finally {
    for (const config of configs) await config.stop().catch((err: unknown) => progress(`stopping ${config.label}: ${String(err)}`));
  }

  const table = new ResultsTable();
  const rows = new Map<string, ResultRow>();
  for (const [key, results] of runs) {
    const [workload, subject, label] = key.split('|') as [WorkloadId, string, string];
    const row = makeRow(SHAPES[workload].title, subject, label, results);
    rows.set(key, row);
    table.add(row);
  }
  const ratios: DurabilityRatio[] = [];
  if (failure === undefined) {
    for (const workload of options.only) {
      const memory = rows.get(`${workload}|syncmgr|in memory`);
      for (const policy of options.policies) {
        const mine = rows.get(`${workload}|syncmgr|--fsync ${policy}`);
        if (memory === undefined || mine === undefined) continue;
        const target = TARGETS.find((t) => t.workload === workload && t.policy === policy);
        ratios.push(ratio(`${workload} --fsync ${policy} / in memory`, mine, memory, target?.atLeast));
        const redis = rows.get(`${workload}|redis|appendfsync ${policy}`);
        if (redis !== undefined) ratios.push(ratio(`${workload} --fsync ${policy} / Redis appendfsync ${policy}`, mine, redis));
      }
    }
  }

  if (options.json) {
    console.log(JSON.stringify({ meta, results: table, ratios, ...(failure !== undefined && { error: String(failure) }) }, null, 2));
  } else if (table.size > 0) {
    console.log('');
    console.log(table.render());
    if (ratios.length > 0) {
      console.log('');
      console.log(renderRatios(ratios));
    }
    console.log('');
    console.log('  ops/s and p50/p99 are medians over reps; ratios are per rep (runs back to back), their median, and each rep\'s.');
    console.log('  Under always, an answer waits for its fsync: at N requests in flight, throughput <= N / fsync latency on this disk.');
    for (const note of meta.skipped) console.log(`  SKIPPED: ${note}`);
  }
  if (failure !== undefined) {
    const text = failure instanceof Error ? (failure.stack ?? failure.message) : String(failure);
    process.stderr.write(`\n${'!'.repeat(78)}\nDURABILITY BENCH FAILED: ${text}\n${'!'.repeat(78)}\n`);
    return 1;
  }
  return 0;
}
