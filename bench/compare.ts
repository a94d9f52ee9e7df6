/**
 * `npm run bench -- --compare`: syncmgr side by side with what users would pick instead, in one
 * run on one machine, interleaved (every workload × peer once per repetition, the peers' order
 * rotating from one repetition to the next) so that drift in the machine hits all alike.
 *
 *   W1  one client, sequential incr                       ops/s, p50, p99 µs
 *   W2  one client, 64 incr in flight on one connection   ops/s
 *   W3  4 processes × sequential incr on one key          ops/s
 *   W4  4 processes × locked read-modify-write             ops/s (acquire, get, set +1, release)
 *
 * Peers: syncmgr (TCP; W1 also over its Unix socket); Redis 7 through ioredis (bench/peers/redis.ts;
 * W2 also with explicit pipelines of 100; W4 a SET NX PX spin lock with a Lua compare-and-delete
 * release); CPython's multiprocessing SyncManager (bench/peers/syncmanager.{ts,py}; its clients
 * are Python processes, one request at a time each, so its W2 is 4 and 64 client processes); the
 * Node floor (bench/peers/floor.ts: a bare Node server and client, W1, W3 and W4), which says how
 * much of a gap any Node server would have too.
 *
 * Every run checks that the final count is exact and the comparison fails (exit 1, after printing
 * what did run) if one is not. Prints the rows (medians, min-max over repetitions) and the ratios
 * against the targets of issue 4 (median of the per-repetition ratios, and each repetition's).
 *
 *   npm run bench -- --compare                       3 reps, 3 s warm-up + 2.5 s per run
 *   npm run bench -- --compare --reps 5 --duration 4
 *   npm run bench -- --compare --quick               smoke run
 *   npm run bench -- --compare --only W1,W4 --peers syncmgr,redis
 *   npm run bench -- --compare --json > compare.json
 */
import { parseArgs } from 'node:util';
import { cpuSeconds } from './peers/proc.js';
import { floorSubject } from './peers/floor.js';
import { type RunningRedis, PeerUnavailable, redisPipelineWorkload, redisSubject } from './peers/redis.js';
import { type RunningSyncManager, startSyncManager } from './peers/syncmanager.js';
import { makeRow, type ResultRow, ResultsTable, type RunResult, toRunResult } from './results.js';
import { median } from './stats.js';
import { type RunningSubject, SUBJECTS, type Target } from './subjects.js';
import { contended, type Measurement, oneClient, type Workload, type WorkloadSettings } from './workloads.js';
import { choose, commonOptions, progress, runSettings } from './cli-args.js';
import { currentLoad, loadAtStartLine, machineInfo } from './machine.js';

const QUICK: WorkloadSettings = { warmupMs: 100, durationMs: 400 };

type WorkloadId = 'W1' | 'W2' | 'W3' | 'W4';
type PeerName = 'syncmgr' | 'redis' | 'syncmanager' | 'floor';
const WORKLOAD_IDS: readonly WorkloadId[] = ['W1', 'W2', 'W3', 'W4'];
const PEERS: readonly PeerName[] = ['syncmgr', 'redis', 'syncmanager', 'floor'];

const TITLES: Record<WorkloadId, string> = {
  W1: 'W1 sequential incr',
  W2: 'W2 64 in flight',
  W3: 'W3 4 proc incr',
  W4: 'W4 4 proc locked RMW',
};

/** One row of the comparison: a workload run one way against one peer. */
interface Case {
  workload: WorkloadId;
  peer: PeerName;
  variant: string;
  run(key: string, settings: WorkloadSettings): Promise<Measurement>;
}

interface CompareOptions {
  reps: number;
  settings: WorkloadSettings;
  json: boolean;
  only: WorkloadId[];
  peers: PeerName[];
}

function parseOptions(argv: string[]): CompareOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...commonOptions(3),
      peers: { type: 'string', default: PEERS.join(',') },
    },
    strict: true,
  });
  const { reps, settings } = runSettings(values, QUICK);
  const only = choose(values.only, WORKLOAD_IDS, 'workload');
  const peers = choose(values.peers, PEERS, 'peer');
  return { reps, settings, json: values.json, only: only.length > 0 ? only : [...WORKLOAD_IDS], peers };
}

class CountCheckError extends Error {
  override get name(): string {
    return 'CountCheckError';
  }
}

function verify(measurement: Measurement, what: string): void {
  const { expected, actual, meaning } = measurement.check;
  if (actual !== expected) {
    throw new CountCheckError(
      `COUNT CHECK FAILED for ${what}: ` +
        (meaning ?? `the clients had ${expected} increments acknowledged, the server holds ${actual}; increments were lost or applied twice`) +
        '. No figure from this run means anything.',
    );
  }
}

/** Runs a Node-side workload against a subject's target. */
function nodeCase(workload: WorkloadId, peer: PeerName, variant: string, target: Target, shape: Workload): Case {
  const subject = SUBJECTS[target.subject]!;
  return {
    workload,
    peer,
    variant,
    run: (key, settings) => shape.run({ target, settings, key, open: () => subject.open(target) }),
  };
}

function syncmgrCases(running: RunningSubject): Case[] {
  const tcp = running.targets.tcp!;
  const unix = running.targets.unix;
  return [
    nodeCase('W1', 'syncmgr', 'tcp', tcp, oneClient('W1', '', 1, ['tcp'])),
    ...(unix === undefined ? [] : [nodeCase('W1', 'syncmgr', 'unix', unix, oneClient('W1', '', 1, ['unix']))]),
    nodeCase('W2', 'syncmgr', 'tcp, 64 in flight', tcp, oneClient('W2', '', 64, ['tcp'])),
    nodeCase('W3', 'syncmgr', 'tcp, 4 procs', tcp, contended('W3', '', 4, ['tcp'])),
    nodeCase('W4', 'syncmgr', 'tcp, 4 procs, lock', tcp, contended('W4', '', 4, ['tcp'], 'lockedIncr')),
  ];
}

function redisCases(running: RunningRedis): Case[] {
  const tcp = running.targets.tcp!;
  return [
    nodeCase('W1', 'redis', 'tcp', tcp, oneClient('W1', '', 1, ['tcp'])),
    nodeCase('W2', 'redis', 'ioredis, 64 in flight', tcp, oneClient('W2', '', 64, ['tcp'])),
    nodeCase('W2', 'redis', 'ioredis pipelines of 100', tcp, redisPipelineWorkload(100)),
    nodeCase('W3', 'redis', 'tcp, 4 procs', tcp, contended('W3', '', 4, ['tcp'])),
    nodeCase('W4', 'redis', '4 procs, SET NX PX spin lock', tcp, contended('W4', '', 4, ['tcp'], 'lockedIncr')),
  ];
}

/** The Node floor runs what a Node server and client cost with no work of their own (no W2: one request in flight). */
function floorCases(running: RunningSubject): Case[] {
  const tcp = running.targets.tcp!;
  return [
    nodeCase('W1', 'floor', 'bare Node pair, tcp', tcp, oneClient('W1', '', 1, ['tcp'])),
    nodeCase('W3', 'floor', 'bare Node pair, 4 procs', tcp, contended('W3', '', 4, ['tcp'])),
    nodeCase('W4', 'floor', 'bare Node pair, 4 procs, FIFO lock', tcp, contended('W4', '', 4, ['tcp'], 'lockedIncr')),
  ];
}

function syncManagerCases(running: RunningSyncManager): Case[] {
  const py = (workload: WorkloadId, variant: string, op: 'incr' | 'lockedIncr', processes: number, exclusiveKey: boolean): Case => ({
    workload,
    peer: 'syncmanager',
    variant,
    run: (key, settings) => running.run({ op, processes, key, exclusiveKey, settings }),
  });
  return [
    py('W1', '1 proc', 'incr', 1, true),
    // A proxy makes one request at a time: in-flight requests need client processes.
    py('W2', '4 procs, 1 in flight each', 'incr', 4, false),
    py('W2', '64 procs, 1 in flight each', 'incr', 64, false),
    py('W3', '4 procs', 'incr', 4, false),
    py('W4', '4 procs, Lock + DictProxy', 'lockedIncr', 4, false),
  ];
}

interface Started {
  name: PeerName;
  /** The server process, whose CPU time each run is charged. */
  pid: number | undefined;
  description: string;
  cases: Case[];
  stop(): Promise<void>;
}

async function startPeer(name: PeerName): Promise<Started> {
  switch (name) {
    case 'syncmgr': {
      const running = await SUBJECTS.syncmgr!.start({});
      return { name, pid: running.pid, description: running.description, cases: syncmgrCases(running), stop: () => running.stop() };
    }
    case 'redis': {
      const running = await redisSubject.start();
      return { name, pid: running.pid, description: running.description, cases: redisCases(running), stop: () => running.stop() };
    }
    case 'floor': {
      const running = await floorSubject.start();
      return { name, pid: running.pid, description: running.description, cases: floorCases(running), stop: () => running.stop() };
    }
    case 'syncmanager': {
      const running = await startSyncManager();
      return { name, pid: running.pid, description: running.description, cases: syncManagerCases(running), stop: () => running.stop() };
    }
  }
}

/** A ratio of syncmgr to a peer, with its target (if issue 4 sets one). */
interface RatioSpec {
  label: string;
  workload: WorkloadId;
  mine: (row: ResultRow) => boolean;
  /** Candidate peer rows; the best (highest median ops/s) is compared against. */
  theirs: (row: ResultRow) => boolean;
  metric: 'ops' | 'p99';
  /** ≥ for ops/s, ≤ for p99. */
  target?: number;
}

const isRow = (subject: PeerName, variant?: string) => (row: ResultRow) =>
  row.subject === subject && (variant === undefined || row.transport === variant);

const RATIOS: readonly RatioSpec[] = [
  { label: 'W1 ops/s vs Redis', workload: 'W1', mine: isRow('syncmgr', 'tcp'), theirs: isRow('redis'), metric: 'ops', target: 1.0 },
  { label: 'W1 p99 vs Redis', workload: 'W1', mine: isRow('syncmgr', 'tcp'), theirs: isRow('redis'), metric: 'p99', target: 1.5 },
  { label: 'W1 (unix) ops/s vs Redis', workload: 'W1', mine: isRow('syncmgr', 'unix'), theirs: isRow('redis'), metric: 'ops' },
  { label: 'W1 ops/s vs SyncManager', workload: 'W1', mine: isRow('syncmgr', 'tcp'), theirs: isRow('syncmanager'), metric: 'ops' },
  {
    label: 'W2 vs Redis (ioredis, 64 in flight)',
    workload: 'W2',
    mine: isRow('syncmgr'),
    theirs: isRow('redis', 'ioredis, 64 in flight'),
    metric: 'ops',
    target: 1.5,
  },
  { label: 'W2 vs Redis (pipelines of 100)', workload: 'W2', mine: isRow('syncmgr'), theirs: isRow('redis', 'ioredis pipelines of 100'), metric: 'ops' },
  { label: 'W2 vs SyncManager (its best)', workload: 'W2', mine: isRow('syncmgr'), theirs: isRow('syncmanager'), metric: 'ops', target: 5 },
  { label: 'W3 vs Redis', workload: 'W3', mine: isRow('syncmgr'), theirs: isRow('redis'), metric: 'ops', target: 1.0 },
  { label: 'W3 vs SyncManager', workload: 'W3', mine: isRow('syncmgr'), theirs: isRow('syncmanager'), metric: 'ops' },
  { label: 'W4 vs SyncManager', workload: 'W4', mine: isRow('syncmgr'), theirs: isRow('syncmanager'), metric: 'ops', target: 2 },
  { label: 'W4 vs Redis spin lock', workload: 'W4', mine: isRow('syncmgr'), theirs: isRow('redis'), metric: 'ops', target: 2 },
  // Where the targets stand against Node itself: syncmgr against the bare Node pair, and that pair
  // against the peers (what a Node server and client reach with no work of their own).
  { label: 'W1 vs Node floor', workload: 'W1', mine: isRow('syncmgr', 'tcp'), theirs: isRow('floor'), metric: 'ops' },
  { label: 'W3 vs Node floor', workload: 'W3', mine: isRow('syncmgr'), theirs: isRow('floor'), metric: 'ops' },
  { label: 'W4 vs Node floor', workload: 'W4', mine: isRow('syncmgr'), theirs: isRow('floor'), metric: 'ops' },
  { label: 'Node floor W1 vs Redis', workload: 'W1', mine: isRow('floor'), theirs: isRow('redis'), metric: 'ops' },
  { label: 'Node floor W3 vs Redis', workload: 'W3', mine: isRow('floor'), theirs: isRow('redis'), metric: 'ops' },
  { label: 'Node floor W4 vs SyncManager', workload: 'W4', mine: isRow('floor'), theirs: isRow('syncmanager'), metric: 'ops' },
  { label: 'Node floor W4 vs Redis spin lock', workload: 'W4', mine: isRow('floor'), theirs: isRow('redis'), metric: 'ops' },
];

export interface Ratio {
  label: string;
  mine: string;
  theirs: string;
  /** Median of the per-repetition ratios. */
  median: number;
  perRep: number[];
  target?: string;
  met?: boolean;
}

function computeRatios(rowsByWorkload: Map<WorkloadId, ResultRow[]>): Ratio[] {
  const ratios: Ratio[] = [];
  for (const spec of RATIOS) {
    const rows = rowsByWorkload.get(spec.workload) ?? [];
    const mine = rows.find(spec.mine);
    const candidates = rows.filter(spec.theirs);
    if (mine === undefined || candidates.length === 0) continue;
    const theirs = candidates.reduce((best, row) => (row.opsPerSec > best.opsPerSec ? row : best));
    const value = (run: RunResult): number => (spec.metric === 'ops' ? run.opsPerSec : (run.latency?.p99Us ?? Number.NaN));
    const reps = Math.min(mine.runs.length, theirs.runs.length);
    const perRep = Array.from({ length: reps }, (_, i) => value(mine.runs[i]!) / value(theirs.runs[i]!));
    const mid = median(perRep) ?? Number.NaN;
    const ratio: Ratio = { label: spec.label, mine: `${mine.subject} ${mine.transport}`, theirs: `${theirs.subject} ${theirs.transport}`, median: mid, perRep };
    if (spec.target !== undefined) {
      ratio.target = `${spec.metric === 'ops' ? '>=' : '<='} ${spec.target.toFixed(1)}x`;
      ratio.met = spec.metric === 'ops' ? mid >= spec.target : mid <= spec.target;
    }
    ratios.push(ratio);
  }
  return ratios;
}

function renderRatios(ratios: Ratio[]): string {
  const cells = [
    ['ratio (row / peer row)', 'row', 'peer row', 'median', 'per rep', 'target', 'met'],
    ...ratios.map((ratio) => [
      ratio.label,
      ratio.mine,
      ratio.theirs,
      `${ratio.median.toFixed(2)}x`,
      ratio.perRep.map((value) => value.toFixed(2)).join(' '),
      ratio.target ?? '-',
      ratio.met === undefined ? '' : ratio.met ? 'yes' : 'NO',
    ]),
  ];
  const widths = cells[0]!.map((_, index) => Math.max(...cells.map((line) => line[index]!.length)));
  const right = new Set([3]);
  const format = (line: string[]): string =>
    line.map((cell, index) => (right.has(index) ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join('  ').trimEnd();
  return [format(cells[0]!), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.slice(1).map(format)].join('\n');
}

/** CPU microseconds per operation (medians over runs); the client's when it was measured. */
interface CpuRow {
  row: ResultRow;
  userUs: number;
  systemUs: number;
  client?: { userUs: number; systemUs: number };
}

/**
 * CPU per operation. Server: user and system time of the server process, all threads, from
 * /proc/PID/stat, over warm-up and measurement, divided by the operations of both. Client: the
 * client processes' own account (process.cpuUsage, Python's os.times) over the measured loop,
 * all of them together. Unlike throughput, these hardly move when other processes share the
 * machine, and side by side they say which end an operation's cost is at.
 */
function renderCpu(rows: readonly CpuRow[]): string {
  const us = (value: number | undefined): string => (value === undefined ? '-' : value.toFixed(1));
  const cells = [
    ['CPU per op (median)', 'subject', 'variant', 'server user µs', 'sys µs', 'total µs', 'client user µs', 'sys µs', 'total µs'],
    ...rows.map(({ row, userUs, systemUs, client }) => [
      row.workload, row.subject, row.transport, us(userUs), us(systemUs), us(userUs + systemUs),
      us(client?.userUs), us(client?.systemUs), us(client === undefined ? undefined : client.userUs + client.systemUs),
    ]),
  ];
  const widths = cells[0]!.map((_, index) => Math.max(...cells.map((line) => line[index]!.length)));
  const format = (line: string[]): string =>
    line.map((cell, index) => (index >= 3 ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join('  ').trimEnd();
  return [format(cells[0]!), widths.map((width) => '-'.repeat(width)).join('  '), ...cells.slice(1).map(format)].join('\n');
}


/** Runs the comparison; resolves with the exit status. */
export async function runCompare(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const meta = {
    ...machineInfo(),
    warmupMs: options.settings.warmupMs,
    durationMs: options.settings.durationMs,
    reps: options.reps,
    peers: [] as string[],
    skipped: [] as string[],
  };
  const describe = options.json ? progress : (line: string) => console.log(line);
  describe(`node ${meta.node}, ${meta.platform}, ${meta.cpu}`);
  describe(
    `comparison: ${options.reps} interleaved reps of ${options.only.join(', ')}; ${meta.warmupMs} ms warm-up + ${meta.durationMs} ms measured per run`,
  );

  describe(loadAtStartLine());
  const started: Started[] = [];
  const runs = new Map<Case, RunResult[]>();
  /** Server CPU seconds per operation, per run (user, system). */
  const cpu = new Map<Case, Array<{ user: number; system: number }>>();
  /** The same for the clients, per run where the workload measured it. */
  const clientCpu = new Map<Case, Array<{ user: number; system: number }>>();
  const pidOf = new Map<Case, number | undefined>();
  let failure: unknown;
  try {
    for (const name of options.peers) {
      try {
        const peer = await startPeer(name);
        started.push(peer);
        meta.peers.push(peer.description);
        describe(`  ${peer.description}`);
      } catch (err) {
        if (!(err instanceof PeerUnavailable)) throw err;
        meta.skipped.push(err.message);
        describe(`  SKIPPED ${name}: ${err.message}`);
      }
    }
    const cases = started.flatMap((peer) => peer.cases).filter((c) => options.only.includes(c.workload));
    for (const peer of started) for (const c of peer.cases) pidOf.set(c, peer.pid);
    for (const c of cases) {
      runs.set(c, []);
      cpu.set(c, []);
      clientCpu.set(c, []);
    }
    let runNumber = 0;
    for (let rep = 1; rep <= options.reps; rep++) {
      for (const workload of options.only) {
        const here = cases.filter((c) => c.workload === workload);
        // Rotate which peer goes first, so none always runs right after another's load.
        const shift = (rep - 1) % Math.max(1, here.length);
        for (const c of [...here.slice(shift), ...here.slice(0, shift)]) {
          const what = `${TITLES[c.workload]} / ${c.peer} ${c.variant} (rep ${rep}/${options.reps})`;
          progress(`running ${what}...`);
          const pid = pidOf.get(c);
          const before = pid === undefined ? undefined : cpuSeconds(pid);
          const measurement = await c.run(`cmp:${c.workload}:${c.peer}:${++runNumber}:${process.pid}`, options.settings);
          verify(measurement, what);
          runs.get(c)!.push(toRunResult(measurement));
          const spent = measurement.clientCpuSeconds;
          if (spent !== undefined && measurement.ops > 0) clientCpu.get(c)!.push({ user: spent.user / measurement.ops, system: spent.system / measurement.ops });
          if (pid !== undefined && before !== undefined) {
            const after = cpuSeconds(pid);
            // The server also served the warm-up: its CPU time is spread over those operations too.
            const ops = measurement.ops + measurement.warmupOps;
            cpu.get(c)!.push({ user: (after.user - before.user) / ops, system: (after.system - before.system) / ops });
          }
        }
      }
    }
  } catch (err) {
    failure = err;
  } finally {
    for (const peer of started) await peer.stop().catch((err: unknown) => progress(`stopping ${peer.name}: ${String(err)}`));
  }

  const table = new ResultsTable();
  const rowsByWorkload = new Map<WorkloadId, ResultRow[]>();
  const cpuRows: CpuRow[] = [];
  for (const [c, results] of runs) {
    if (results.length === 0) continue;
    const row = makeRow(TITLES[c.workload], c.peer, c.variant, results);
    table.add(row);
    const perRun = cpu.get(c) ?? [];
    const clientPerRun = clientCpu.get(c) ?? [];
    if (perRun.length > 0) {
      cpuRows.push({
        row,
        userUs: median(perRun.map((run) => run.user))! * 1e6,
        systemUs: median(perRun.map((run) => run.system))! * 1e6,
        ...(clientPerRun.length > 0 && {
          client: { userUs: median(clientPerRun.map((run) => run.user))! * 1e6, systemUs: median(clientPerRun.map((run) => run.system))! * 1e6 },
        }),
      });
    }
    rowsByWorkload.set(c.workload, [...(rowsByWorkload.get(c.workload) ?? []), row]);
  }
  // Ratios only from complete runs: after a failure, the per-rep pairing would be off.
  const ratios = failure === undefined ? computeRatios(rowsByWorkload) : [];

  if (options.json) {
    console.log(JSON.stringify({ meta, results: table, ratios, cpuPerOp: cpuRows.map(({ row, userUs, systemUs, client }) => ({ workload: row.workload, subject: row.subject, variant: row.transport, server: { userUs, systemUs }, client })), ...(failure !== undefined && { error: String(failure) }) }, null, 2));
  } else if (table.size > 0) {
    console.log('');
    console.log(table.render());
    if (ratios.length > 0) {
      console.log('');
      console.log(renderRatios(ratios));
    }
    if (cpuRows.length > 0) {
      console.log('');
      console.log(renderCpu(cpuRows));
    }
    console.log('');
    console.log('  ops/s and p50/p99 are medians over reps; min-max is their spread; ratios are row / peer row per rep (run back to back),');
    console.log('  the median of those, and each rep\'s. W2 vs SyncManager uses its best variant (its proxies cannot pipeline: 4 or 64');
    console.log('  client processes, one request in flight each). Redis pipeline latencies are per pipeline of 100. The Node floor is a');
    console.log('  bare Node server and client (bench/peers/floor.ts): what any Node pair reaches before doing any work of its own.');
    for (const note of meta.skipped) console.log(`  SKIPPED: ${note}`);
  }
  const loadAtEnd = currentLoad();
  // (The bench's own 4-process runs raise it: only the figure at the start says much.)
  describe(`load average (1 min) at end: ${loadAtEnd.toFixed(2)}`);
  if (failure !== undefined) {
    const text = failure instanceof Error ? (failure.stack ?? failure.message) : String(failure);
    process.stderr.write(`\n${'!'.repeat(78)}\nCOMPARISON FAILED: ${text}\n${'!'.repeat(78)}\n`);
    return 1;
  }
  return 0;
}
