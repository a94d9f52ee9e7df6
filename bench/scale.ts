/**
 * `npm run bench -- --scale`: memory and connection-scale figures (issue 4, section 3).
 *
 * 1. memory: 1,000,000 keys with small values (`key:N` → N) in one dict: the syncmgr server's RSS
 *    (VmRSS of its process) empty, 2 s after loading and settled (40 s after, once V8 has freed
 *    the load's garbage), against the same data in Redis as one hash (HSET, the same shape: one
 *    dict) and, for reference, as 1,000,000 top-level string keys (MSET), read at the same
 *    moments. Loaded with setMany / HSET / MSET batches of 10,000, a few in flight. Each server
 *    is fresh.
 * 2. connections: 10,000 idle authenticated connections (handshake + hello, heartbeats on) opened
 *    at once from 4 client processes (each's open-file limit raised with `ulimit -n` if needed):
 *    the time until all are accepted and authenticated, the server's RSS before and after, and
 *    the round-trip of one more client's sequential incr while they are open.
 * 3. clients: ops/s of 1, 2, 4, ... 64 connections, each doing sequential incr on one shared key
 *    (spread over up to 2 client processes, --client-procs), syncmgr and Redis interleaved; a
 *    table, and a PNG plot (bench/png.ts, node:zlib only).
 *
 * Every part checks its counts (dict size, HLEN/DBSIZE, connections opened, final counter) and
 * fails loudly if one is off.
 *
 *   npm run bench -- --scale                                 all three (about 4 minutes)
 *   npm run bench -- --scale --quick                         smaller and shorter
 *   npm run bench -- --scale --only memory,connections,clients
 *   npm run bench -- --scale --keys 1000000 --connections 10000 --png .bench-tmp/clients.png
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { connect, connectionString, parseConnectionString, VERSION } from 'syncmgr';
import { lineChart } from './png.js';
import { anonRssBytes, killOnExit, mib, openFileLimits, rssBytes, sleep, stopChild, withOpenFileLimit } from './peers/proc.js';
import { openRedis, PeerUnavailable, type RunningRedis, redisSubject } from './peers/redis.js';
import type { ScaleReply, ScaleRequest } from './scale-worker.js';
import { summarizeLatencies } from './stats.js';
import { openClient, type Target } from './subjects.js';
import { progress } from './cli-args.js';
import { currentLoad, loadAtStartLine, machineInfo } from './machine.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SYNCMGR_CLI = join(ROOT, 'bin', 'syncmgr.js');
const SCALE_WORKER = fileURLToPath(new URL('./scale-worker.js', import.meta.url));
const PARTS = ['memory', 'connections', 'clients'] as const;
type Part = (typeof PARTS)[number];
const CLIENT_COUNTS = [1, 2, 4, 8, 16, 32, 64];
const HOLDER_PROCESSES = 4;
/**
 * Client processes the connections of part 3 are spread over (at most): on a 2-core machine more
 * would only take CPU from the server being measured. `--client-procs` changes it.
 */
const DRIVER_PROCESSES = 2;
const LOAD_BATCH = 10_000;
const LOAD_IN_FLIGHT = 4;
/** Time for garbage and allocator caches to settle before RSS is read. */
const SETTLE_MS = 2000;
/**
 * When RSS is read again after a load, as the server's settled size. V8 frees a load's garbage
 * (request buffers, the tables a growing Map left behind) in a memory-reducing full GC that it
 * schedules itself once allocation stops: `--trace-gc` showed "Mark-Compact (reduce)" about 30 s
 * after the load's last full GC. Until then RSS counts that garbage. Redis is read at the same moments.
 */
const SETTLED_MS = 40_000;

interface ScaleOptions {
  parts: Part[];
  keys: number;
  connections: number;
  warmupMs: number;
  durationMs: number;
  json: boolean;
  png: string;
  clientProcs: number;
  /** When after a load RSS is read as settled (SETTLED_MS; `--settle`). */
  settledMs: number;
}

function parseOptions(argv: string[]): ScaleOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      only: { type: 'string', default: '' },
      keys: { type: 'string' },
      connections: { type: 'string' },
      duration: { type: 'string' },
      warmup: { type: 'string' },
      png: { type: 'string', default: join(ROOT, '.bench-tmp', 'scale-clients.png') },
      'client-procs': { type: 'string' },
      settle: { type: 'string' },
      // Accepted (and ignored) so `--compare --scale --reps 3` works in one command.
      reps: { type: 'string' },
      peers: { type: 'string' },
    },
    strict: true,
  });
  const count = (text: string | undefined, fallback: number, flag: string): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isInteger(value) || value < 1) throw new Error(`${flag} takes a positive whole number, not ${text}`);
    return value;
  };
  const secondsMs = (text: string | undefined, fallback: number, flag: string): number => {
    if (text === undefined) return fallback;
    const value = Number(text);
    if (!Number.isFinite(value) || value < 0) throw new Error(`${flag} takes a number of seconds, not ${text}`);
    return value * 1000;
  };
  const parts = values.only
    .split(',')
    .map((part) => part.trim())
    .filter((part) => part !== '')
    .map((part) => {
      if (!PARTS.includes(part as Part)) throw new Error(`unknown scale part ${part}; known: ${PARTS.join(', ')}`);
      return part as Part;
    });
  return {
    parts: parts.length > 0 ? parts : [...PARTS],
    keys: count(values.keys, values.quick ? 100_000 : 1_000_000, '--keys'),
    connections: count(values.connections, values.quick ? 1000 : 10_000, '--connections'),
    warmupMs: secondsMs(values.warmup, values.quick ? 100 : 500, '--warmup'),
    durationMs: secondsMs(values.duration, values.quick ? 500 : 2000, '--duration'),
    json: values.json,
    png: values.png,
    clientProcs: count(values['client-procs'], DRIVER_PROCESSES, '--client-procs'),
    settledMs: secondsMs(values.settle, values.quick ? SETTLE_MS : SETTLED_MS, '--settle'),
  };
}

class ScaleCheckError extends Error {
  override get name(): string {
    return 'ScaleCheckError';
  }
}

function check(ok: boolean, message: string): void {
  if (!ok) throw new ScaleCheckError(`CHECK FAILED: ${message}`);
}

// ---------------------------------------------------------------------------------------------
// A syncmgr server of our own: its PID (for RSS) and a raised open-file limit.

interface OwnServer {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

async function startSyncmgr(openFiles: number): Promise<OwnServer> {
  const authkey = randomBytes(32).toString('hex');
  const [command, args] = withOpenFileLimit(process.execPath, [SYNCMGR_CLI, 'serve', '--port', '0', '--quiet'], openFiles);
  const child = spawn(command, args, { env: { ...process.env, SYNCMGR_AUTHKEY: authkey }, stdio: ['ignore', 'pipe', 'pipe'] });
  const undoKill = killOnExit(child);
  let stopping = false;
  createInterface({ input: child.stderr! }).on('line', (line) => {
    if (!(stopping && /SIGTERM: shutting down$/.test(line))) process.stderr.write(`[server] ${line}\n`);
  });
  const url = await new Promise<string>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    const timer = setTimeout(() => reject(new Error('the server printed no address within 10 s')), 10_000);
    child.once('exit', (code, signal) => reject(new Error(`the server exited before listening (${signal ?? `exit status ${code}`})`)));
    lines.on('line', (line) => {
      const match = /listening on (\S+)$/.exec(line);
      if (match === null) return;
      clearTimeout(timer);
      resolve(connectionString(parseConnectionString(match[1]!).endpoint, authkey));
    });
  });
  return {
    pid: child.pid!,
    url,
    async stop() {
      stopping = true;
      await stopChild(child);
      undoKill();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Memory

interface MemoryRow {
  subject: string;
  layout: string;
  keys: number;
  rssEmpty: number;
  /** RSS SETTLE_MS after the load. */
  rssLoaded: number;
  /** RSS once the server has freed the load's garbage (ScaleOptions.settledMs after the load). */
  rssSettled: number;
  /** Of rssSettled, the anonymous part (without the program's file-backed pages). */
  anonSettled: number;
  loadSeconds: number;
  /** Redis's own count of the bytes it allocated for data (INFO memory used_memory), if any. */
  usedMemory?: number;
}

/** Calls `load` over [0, keys) in batches of LOAD_BATCH, up to LOAD_IN_FLIGHT in flight; resolves with the seconds it took. */
export async function loadInBatches(keys: number, load: (from: number, to: number) => Promise<unknown>): Promise<number> {
  const start = performance.now();
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < keys) {
      const from = next;
      next = Math.min(keys, next + LOAD_BATCH);
      await load(from, next);
    }
  };
  await Promise.all(Array.from({ length: LOAD_IN_FLIGHT }, lane));
  return (performance.now() - start) / 1000;
}

const keyName = (i: number): string => `key:${i}`;

/** RSS right after a load (+SETTLE_MS), then once settled (+settledMs), of process `pid`. */
async function rssAfterLoad(pid: number, settledMs: number): Promise<Pick<MemoryRow, 'rssLoaded' | 'rssSettled' | 'anonSettled'>> {
  const loadedAt = performance.now();
  await sleep(SETTLE_MS);
  const rssLoaded = rssBytes(pid);
  await sleep(Math.max(0, settledMs - (performance.now() - loadedAt)));
  return { rssLoaded, rssSettled: rssBytes(pid), anonSettled: anonRssBytes(pid) };
}

async function memorySyncmgr(keys: number, settledMs: number): Promise<MemoryRow> {
  const server = await startSyncmgr(4096);
  try {
    const client = await connect({ url: server.url });
    try {
      const dict = client.dict<number>('bench');
      await dict.size();
      await sleep(SETTLE_MS);
      const rssEmpty = rssBytes(server.pid);
      const loadSeconds = await loadInBatches(keys, (from, to) => {
        const entries: Array<[string, number]> = [];
        for (let i = from; i < to; i++) entries.push([keyName(i), i]);
        return dict.setMany(entries);
      });
      const size = await dict.size();
      check(size === keys, `the syncmgr dict holds ${size} keys after loading ${keys}`);
      const probe = Math.floor(keys / 2);
      check((await dict.get(keyName(probe))) === probe, `the syncmgr dict's ${keyName(probe)} is not ${probe}`);
      return { subject: 'syncmgr', layout: "one dict ('bench'), setMany", keys, rssEmpty, ...(await rssAfterLoad(server.pid, settledMs)), loadSeconds };
    } finally {
      await client.close();
    }
  } finally {
    await server.stop();
  }
}

async function memoryRedis(keys: number, layout: 'hash' | 'strings', settledMs: number): Promise<MemoryRow> {
  const running: RunningRedis = await redisSubject.start();
  try {
    const redis = await openRedis(running.targets.tcp!);
    try {
      await sleep(SETTLE_MS);
      const rssEmpty = rssBytes(running.pid);
      const loadSeconds = await loadInBatches(keys, (from, to) => {
        const args: string[] = [];
        for (let i = from; i < to; i++) args.push(keyName(i), String(i));
        return layout === 'hash' ? redis.hset('bench', ...args) : redis.mset(...args);
      });
      const size = layout === 'hash' ? await redis.hlen('bench') : await redis.dbsize();
      check(size === keys, `Redis holds ${size} ${layout === 'hash' ? 'fields' : 'keys'} after loading ${keys}`);
      const probe = Math.floor(keys / 2);
      const value = layout === 'hash' ? await redis.hget('bench', keyName(probe)) : await redis.get(keyName(probe));
      check(value === String(probe), `Redis's ${keyName(probe)} is ${value}, not ${probe}`);
      const rss = await rssAfterLoad(running.pid, settledMs);
      const info = await redis.info('memory');
      const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
      return {
        subject: 'redis',
        layout: layout === 'hash' ? "one hash ('bench'), HSET" : `${keys.toLocaleString('en-US')} string keys, MSET`,
        keys,
        rssEmpty,
        ...rss,
        loadSeconds,
        ...(Number.isFinite(usedMemory) && { usedMemory }),
      };
    } finally {
      await redis.quit();
    }
  } finally {
    await running.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 2. Idle connections

interface ConnectionsRow {
  connections: number;
  processes: number;
  acceptSeconds: number;
  rssBefore: number;
  rssAfter: number;
  probeP50Us: number;
  probeP99Us: number;
  openFileLimit: string;
}

interface Worker {
  child: ChildProcess;
  request(message: ScaleRequest): void;
  next(): Promise<ScaleReply>;
}

function startScaleWorker(openFiles: number): Worker {
  const [command, args] = withOpenFileLimit(process.execPath, [SCALE_WORKER], openFiles);
  const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
  const undoKill = killOnExit(child);
  child.once('exit', undoKill);
  const queue: ScaleReply[] = [];
  const waiting: Array<{ resolve(reply: ScaleReply): void; reject(err: Error): void }> = [];
  child.on('message', (message) => {
    const waiter = waiting.shift();
    if (waiter === undefined) queue.push(message as ScaleReply);
    else waiter.resolve(message as ScaleReply);
  });
  child.once('exit', (code, signal) => {
    const err = new Error(`scale worker ${child.pid} exited (${signal ?? `exit status ${code}`})`);
    for (const waiter of waiting.splice(0)) waiter.reject(err);
  });
  return {
    child,
    request: (message) => child.send(message),
    next() {
      const queued = queue.shift();
      if (queued !== undefined) return Promise.resolve(queued);
      if (child.exitCode !== null || child.signalCode !== null) return Promise.reject(new Error(`scale worker ${child.pid} has exited`));
      return new Promise((resolve, reject) => waiting.push({ resolve, reject }));
    },
  };
}

async function expectReply<T extends ScaleReply['type']>(worker: Worker, type: T): Promise<Extract<ScaleReply, { type: T }>> {
  const reply = await worker.next();
  if (reply.type !== type) throw new Error(`scale worker ${worker.child.pid} answered ${reply.type} where ${type} was due`);
  return reply as Extract<ScaleReply, { type: T }>;
}

async function idleConnections(connections: number): Promise<ConnectionsRow> {
  const perProcess = Math.ceil(connections / HOLDER_PROCESSES);
  const server = await startSyncmgr(connections + 1024);
  const workers: Worker[] = [];
  try {
    await sleep(500);
    const rssBefore = rssBytes(server.pid);
    for (let i = 0; i < HOLDER_PROCESSES; i++) workers.push(startScaleWorker(perProcess + 256));
    await sleep(300); // let them load; the clock starts at the burst
    const start = performance.now();
    let remaining = connections;
    for (const worker of workers) {
      const count = Math.min(perProcess, remaining);
      remaining -= count;
      worker.request({ type: 'hold', url: server.url, count });
    }
    const held = await Promise.all(workers.map((worker) => expectReply(worker, 'held')));
    const acceptSeconds = (performance.now() - start) / 1000;
    const ok = held.reduce((sum, reply) => sum + reply.ok, 0);
    const failed = held.reduce((sum, reply) => sum + reply.failed, 0);
    check(
      ok === connections && failed === 0,
      `${ok} of ${connections} connections were opened and authenticated, ${failed} failed` +
        (held.find((reply) => reply.firstError)?.firstError ? ` (first error: ${held.find((reply) => reply.firstError)!.firstError})` : ''),
    );
    await sleep(SETTLE_MS);
    const rssAfter = rssBytes(server.pid);

    // One more client's round trips while they are all open.
    const target: Target = { subject: 'syncmgr', transport: 'tcp', url: server.url };
    const probe = await openClient(target);
    const latencies: number[] = [];
    try {
      for (let i = 1; i <= 2000; i++) {
        const sent = process.hrtime.bigint();
        const value = await probe.incr('scale:probe');
        latencies.push(Number(process.hrtime.bigint() - sent));
        check(value === i, `incr answered ${value} where ${i} was due with ${connections} connections open`);
      }
    } finally {
      await probe.close();
    }
    const summary = summarizeLatencies(latencies.slice(200))!;

    for (const worker of workers) worker.request({ type: 'release' });
    await Promise.all(workers.map((worker) => expectReply(worker, 'released')));
    const limits = openFileLimits();
    return {
      connections,
      processes: HOLDER_PROCESSES,
      acceptSeconds,
      rssBefore,
      rssAfter,
      probeP50Us: summary.p50Us,
      probeP99Us: summary.p99Us,
      openFileLimit: `bench ${limits.soft}; server and holders raised to >= ${connections + 1024} / ${perProcess + 256} when lower`,
    };
  } finally {
    await Promise.all(workers.map((worker) => stopChild(worker.child, 3000)));
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Clients 1..64

interface ClientsPoint {
  subject: string;
  clients: number;
  processes: number;
  opsPerSec: number;
  p50Us: number;
  p99Us: number;
  count: number;
}

async function clientsPoint(target: Target, clients: number, key: string, options: ScaleOptions): Promise<ClientsPoint> {
  const processes = Math.min(clients, options.clientProcs);
  const workers = Array.from({ length: processes }, () => startScaleWorker(1024));
  try {
    workers.forEach((worker, i) =>
      worker.request({ type: 'drive', target, connections: Math.floor(clients / processes) + (i < clients % processes ? 1 : 0) }),
    );
    await Promise.all(workers.map((worker) => expectReply(worker, 'ready')));
    for (const worker of workers) worker.request({ type: 'go', key, warmupMs: options.warmupMs, durationMs: options.durationMs });
    const results = await Promise.all(workers.map((worker) => expectReply(worker, 'result')));
    const ops = results.reduce((sum, result) => sum + result.ops, 0);
    const seconds = (Math.max(...results.map((result) => result.endMs)) - Math.min(...results.map((result) => result.startMs))) / 1000;
    const client = await openClient(target);
    let actual: number | null;
    try {
      actual = await client.get(key);
    } finally {
      await client.close();
    }
    check(actual === ops, `${target.subject} with ${clients} clients: the clients had ${ops} increments acknowledged, the server holds ${actual}`);
    const latency = summarizeLatencies(results.flatMap((result) => result.latenciesNs))!;
    return { subject: target.subject, clients, processes, opsPerSec: ops / seconds, p50Us: latency.p50Us, p99Us: latency.p99Us, count: ops };
  } finally {
    await Promise.all(workers.map((worker) => stopChild(worker.child, 3000)));
  }
}

async function clientScaling(options: ScaleOptions, notes: string[]): Promise<ClientsPoint[]> {
  const server = await startSyncmgr(4096);
  let redis: RunningRedis | undefined;
  try {
    try {
      redis = await redisSubject.start();
    } catch (err) {
      if (!(err instanceof PeerUnavailable)) throw err;
      notes.push(err.message);
      progress(`SKIPPED redis: ${err.message}`);
    }
    const targets: Target[] = [{ subject: 'syncmgr', transport: 'tcp', url: server.url }, ...(redis === undefined ? [] : [redis.targets.tcp!])];
    const points: ClientsPoint[] = [];
    for (const clients of CLIENT_COUNTS) {
      for (const target of targets) {
        progress(`running ${clients} client(s) / ${target.subject}...`);
        points.push(await clientsPoint(target, clients, `scale:clients:${clients}:${randomBytes(4).toString('hex')}`, options));
      }
    }
    return points;
  } finally {
    await redis?.stop();
    await server.stop();
  }
}

// ---------------------------------------------------------------------------------------------
// Output

const integer = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en-US', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

function table(header: string[], rows: string[][], rightAligned: ReadonlySet<number>): string {
  const cells = [header, ...rows];
  const widths = header.map((_, index) => Math.max(...cells.map((line) => line[index]!.length)));
  const format = (line: string[]): string =>
    line.map((cell, index) => (rightAligned.has(index) ? cell.padStart(widths[index]!) : cell.padEnd(widths[index]!))).join('  ').trimEnd();
  return [format(header), widths.map((width) => '-'.repeat(width)).join('  '), ...rows.map(format)].join('\n');
}

function renderMemory(rows: MemoryRow[], settledMs: number): string {
  const body = rows.map((row) => [
    row.subject,
    row.layout,
    integer.format(row.keys),
    mib(row.rssEmpty),
    mib(row.rssLoaded),
    mib(row.rssSettled),
    mib(row.anonSettled),
    mib(row.rssSettled - row.rssEmpty),
    integer.format((row.rssSettled - row.rssEmpty) / row.keys),
    row.usedMemory === undefined ? '-' : mib(row.usedMemory),
    `${oneDecimal.format(row.loadSeconds)} s`,
  ]);
  const settled = `RSS +${Math.round(settledMs / 1000)} s`;
  const lines = [
    table(['server', 'data', 'keys', 'RSS empty', `RSS +${SETTLE_MS / 1000} s`, settled, 'of it anon', 'delta', 'B/key', 'used_memory', 'load'], body, new Set([2, 3, 4, 5, 6, 7, 8, 9, 10])),
  ];
  const mine = rows.find((row) => row.subject === 'syncmgr');
  for (const theirs of rows.filter((row) => row.subject === 'redis')) {
    if (mine === undefined) break;
    const total = mine.rssSettled / theirs.rssSettled;
    const early = mine.rssLoaded / theirs.rssLoaded;
    const delta = (mine.rssSettled - mine.rssEmpty) / (theirs.rssSettled - theirs.rssEmpty);
    const anon = mine.anonSettled / theirs.anonSettled;
    lines.push(
      `syncmgr / redis (${theirs.layout}): RSS ${total.toFixed(2)}x (${early.toFixed(2)}x at +${SETTLE_MS / 1000} s), ` +
        `anonymous RSS ${anon.toFixed(2)}x, data alone (delta) ${delta.toFixed(2)}x` +
        (theirs.layout.startsWith('one hash') ? `  [target <= 2.0x, on RSS +${Math.round(settledMs / 1000)} s: ${total <= 2 ? 'met' : 'NOT met'}]` : ''),
    );
  }
  lines.push(
    `  RSS is read ${SETTLE_MS / 1000} s after the load and again at +${Math.round(settledMs / 1000)} s (\`--settle\`): by then V8 has run the full GC that frees the load's garbage; ` +
      'the later columns are the settled server.',
  );
  return lines.join('\n');
}

function renderConnections(row: ConnectionsRow): string {
  return table(
    ['connections', 'client procs', 'accept + auth all', 'RSS before', 'RSS after', 'per connection', 'incr p50 µs', 'p99 µs'],
    [
      [
        integer.format(row.connections),
        String(row.processes),
        `${oneDecimal.format(row.acceptSeconds)} s`,
        mib(row.rssBefore),
        mib(row.rssAfter),
        `${oneDecimal.format((row.rssAfter - row.rssBefore) / row.connections / 1024)} KiB`,
        oneDecimal.format(row.probeP50Us),
        oneDecimal.format(row.probeP99Us),
      ],
    ],
    new Set([0, 1, 2, 3, 4, 5, 6, 7]),
  );
}

function renderClients(points: ClientsPoint[]): string {
  const subjects = [...new Set(points.map((point) => point.subject))];
  const header = ['clients', 'procs', ...subjects.flatMap((subject) => [`${subject} ops/s`, 'p50 µs', 'p99 µs']), ...(subjects.length > 1 ? ['ratio'] : [])];
  const body = CLIENT_COUNTS.filter((clients) => points.some((point) => point.clients === clients)).map((clients) => {
    const row = subjects.map((subject) => points.find((point) => point.clients === clients && point.subject === subject));
    return [
      String(clients),
      String(row[0]?.processes ?? ''),
      ...row.flatMap((point) => (point === undefined ? ['-', '-', '-'] : [integer.format(point.opsPerSec), oneDecimal.format(point.p50Us), oneDecimal.format(point.p99Us)])),
      ...(subjects.length > 1 && row[0] !== undefined && row[1] !== undefined ? [`${(row[0].opsPerSec / row[1].opsPerSec).toFixed(2)}x`] : []),
    ];
  });
  return table(header, body, new Set(header.map((_, index) => index)));
}

export async function runScale(argv: string[]): Promise<number> {
  const options = parseOptions(argv);
  const machine = machineInfo();
  const describe = options.json ? progress : (line: string) => console.log(line);
  describe(`node ${machine.node}, ${machine.platform}, ${machine.cpu}; syncmgr ${VERSION}`);
  describe(`scale: ${options.parts.join(', ')}; ${integer.format(options.keys)} keys, ${integer.format(options.connections)} connections, clients ${CLIENT_COUNTS.join('/')}`);
  describe(loadAtStartLine());
  const notes: string[] = [];
  const results: { memory?: MemoryRow[]; connections?: ConnectionsRow; clients?: ClientsPoint[]; png?: string } = {};
  let failure: unknown;
  try {
    if (options.parts.includes('memory')) {
      progress(`memory: loading ${integer.format(options.keys)} keys into syncmgr...`);
      const rows = [await memorySyncmgr(options.keys, options.settledMs)];
      for (const layout of ['hash', 'strings'] as const) {
        progress(`memory: loading ${integer.format(options.keys)} keys into Redis (${layout})...`);
        try {
          rows.push(await memoryRedis(options.keys, layout, options.settledMs));
        } catch (err) {
          if (!(err instanceof PeerUnavailable)) throw err;
          notes.push(err.message);
          progress(`SKIPPED redis: ${err.message}`);
          break;
        }
      }
      results.memory = rows;
      if (!options.json) console.log(`\n${renderMemory(rows, options.settledMs)}`);
    }
    if (options.parts.includes('connections')) {
      progress(`connections: opening ${integer.format(options.connections)} idle connections...`);
      results.connections = await idleConnections(options.connections);
      if (!options.json) console.log(`\n${renderConnections(results.connections)}`);
    }
    if (options.parts.includes('clients')) {
      const points = await clientScaling(options, notes);
      results.clients = points;
      if (!options.json) console.log(`\n${renderClients(points)}`);
      const series = [...new Set(points.map((point) => point.subject))].map((subject, index) => ({
        label: subject,
        color: ([[214, 39, 40], [31, 119, 180], [44, 160, 44]] as const)[index % 3]!,
        points: points.filter((point) => point.subject === subject).map((point) => [point.clients, point.opsPerSec] as const),
      }));
      mkdirSync(dirname(options.png), { recursive: true });
      writeFileSync(
        options.png,
        lineChart({ title: 'SEQUENTIAL INCR: OPS/S BY CLIENTS', xLabel: 'CONNECTIONS (EACH ONE REQUEST AT A TIME)', yLabel: 'OPS/S', series }).toPng(),
      );
      results.png = options.png;
      if (!options.json) console.log(`plot: ${options.png}`);
    }
  } catch (err) {
    failure = err;
  }
  describe(`load average (1 min) at end: ${currentLoad().toFixed(2)}`);
  if (options.json) console.log(JSON.stringify({ results, notes, ...(failure !== undefined && { error: String(failure) }) }, null, 2));
  else for (const note of notes) console.log(`  SKIPPED: ${note}`);
  if (failure !== undefined) {
    const text = failure instanceof Error ? (failure.stack ?? failure.message) : String(failure);
    process.stderr.write(`\n${'!'.repeat(78)}\nSCALE FAILED: ${text}\n${'!'.repeat(78)}\n`);
    return 1;
  }
  return 0;
}
