/**
 * `npm run bench`: starts the server in its own process, runs every workload over its transports,
 * checks each run's final count, and prints a table. With several subjects (servers), each
 * repetition runs every workload against each of them in turn.
 *
 *   npm run bench                          full run (3 s warm-up + 2.5 s measured per row: under a minute),
 *                                          then --durability (~4 min)
 *   npm run bench -- --quick               smoke run, a few seconds
 *   npm run bench -- --json                results as JSON on stdout (progress stays on stderr)
 *   npm run bench -- --reps 3              each row three times; the table shows medians
 *   npm run bench -- --only incr-seq       some workloads only (comma-separated); --list names them
 *   npm run bench -- --transports unix,ws  every selected workload over these transports instead
 *   npm run bench -- --duration 5          seconds measured per run (and --warmup, in seconds)
 *   npm run bench -- --cpu-prof            also write the server's V8 CPU profile to .bench-tmp/
 *   npm run bench -- --subjects syncmgr    the servers to measure, interleaved (peers go in subjects.ts)
 *   npm run bench -- --compare-ref main    also a build of that git ref's server (bench/ref-build.ts), interleaved
 *                                          with this one's; then this one's ops/s over its, per workload
 *   npm run bench -- --compare             side by side with Redis and SyncManager (bench/compare.ts)
 *   npm run bench -- --durability          --data-dir under each fsync policy vs memory and Redis AOF (bench/durability.ts;
 *                                          a plain `npm run bench` runs it after the workloads)
 *   npm run bench -- --scale               memory and connection-scale figures (bench/scale.ts)
 *   npm run bench -- --rss                 server RSS after 1,000,000 small keys (bench/rss.ts; --compare-ref too)
 *
 * Exits with status 1, after printing what did run, if any run's count is not exact.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeRow, ResultsTable, type RunResult, toRunResult } from './results.js';
import { type RunningSubject, type Subject, syncmgrServer } from './subjects.js';
import { type Measurement, selectWorkloads, type Workload, WORKLOAD_IDS, WORKLOADS } from './workloads.js';
import { progress } from './cli-args.js';
import { currentLoad, loadAtStartLine, machineInfo } from './machine.js';
import { cpuSeconds } from './peers/proc.js';
import { parseRunOptions, type RunOptions } from './run-options.js';
import { buildRef, type RefBuild } from './ref-build.js';
import { refRatios, renderRefRatios } from './ref-ratios.js';

/** A run whose count does not match: the one result the bench must never print as a number. */
class CountCheckError extends Error {
  override get name(): string {
    return 'CountCheckError';
  }
}

/** Throws loudly unless the server holds exactly the count the clients had acknowledged. */
function verify(measurement: Measurement, what: string): void {
  const { expected, actual, meaning } = measurement.check;
  if (actual !== expected) {
    throw new CountCheckError(
      meaning === undefined
        ? `COUNT CHECK FAILED for ${what}: the clients had ${expected} increments acknowledged, the server holds ${actual}. ` +
            'Increments were lost or applied twice; no throughput figure from this run means anything.'
        : `COUNT CHECK FAILED for ${what}: ${meaning}; no figure from this run means anything.`,
    );
  }
}

/** Runs so far, in this process: part of each run's key. */
let runNumber = 0;

/** The server's CPU time between two readings per operation it served (the warm-up's too), in µs. */
function serverCpuUsPerOp(before: { user: number; system: number }, after: { user: number; system: number }, measurement: Measurement): number {
  const seconds = after.user - before.user + (after.system - before.system);
  return (seconds / (measurement.ops + measurement.warmupOps)) * 1e6;
}

/** A started subject and the subject it was started from (whose `open` makes its clients). */
interface Started {
  subject: Subject;
  running: RunningSubject;
}

/**
 * Every selected workload over its transports against every started subject, `reps` times. Each
 * repetition runs every workload × transport against every subject back to back, the subjects'
 * order rotating from one repetition to the next, so that drift in a shared machine hits all alike
 * and the runs of one repetition can be compared pairwise. Adds a row per workload × subject ×
 * transport to `table`, also when a run fails (with the runs done).
 */
async function runInterleaved(started: readonly Started[], workloads: Workload[], options: RunOptions, table: ResultsTable): Promise<void> {
  const rows = new Map<string, { workload: string; subject: string; transport: string; runs: RunResult[] }>();
  try {
    for (let rep = 1; rep <= options.reps; rep++) {
      const shift = (rep - 1) % started.length;
      const order = [...started.slice(shift), ...started.slice(0, shift)];
      for (const workload of workloads) {
        for (const transport of options.transports.length > 0 ? options.transports : workload.transports) {
          for (const { subject, running } of order) {
            const target = running.targets[transport];
            if (target === undefined) {
              if (rep === 1) progress(`skipping ${workload.name} over ${transport}: ${running.name} does not listen there`);
              continue;
            }
            // Which clients a workload needs is a matter of the target's adapter (every syncmgr build shares one).
            if (workload.subjects !== undefined && !workload.subjects.includes(target.subject)) {
              if (rep === 1) progress(`skipping ${workload.name}: not available on ${running.name}`);
              continue;
            }
            const what = `${workload.name} / ${running.name} / ${transport}${options.reps > 1 ? ` (rep ${rep}/${options.reps})` : ''}`;
            progress(`running ${what}...`);
            const cpuBefore = running.pid === undefined ? undefined : cpuSeconds(running.pid);
            const measurement = await workload.run({
              target,
              settings: options.settings,
              // Unique per run (a transport may be listed twice), so every count starts from zero.
              key: `${workload.name}:${transport}:${++runNumber}`,
              open: () => subject.open(target),
            });
            verify(measurement, what);
            const id = `${workload.name}\0${running.name}\0${transport}`;
            const row = rows.get(id) ?? { workload: workload.name, subject: running.name, transport, runs: [] };
            const result = toRunResult(measurement);
            if (cpuBefore !== undefined) result.serverCpuUs = serverCpuUsPerOp(cpuBefore, cpuSeconds(running.pid!), measurement);
            row.runs.push(result);
            rows.set(id, row);
          }
        }
      }
    }
  } finally {
    // What did run is printed even after a failure.
    for (const row of rows.values()) table.add(makeRow(row.workload, row.subject, row.transport, row.runs));
  }
}

async function main(): Promise<number> {
  // Side-by-side comparison with Redis and SyncManager, and memory/scale figures: own modules.
  const argv = process.argv.slice(2);
  if (argv.includes('--compare') || argv.includes('--scale') || argv.includes('--durability') || argv.includes('--rss')) {
    const rest = argv.filter((arg) => arg !== '--compare' && arg !== '--scale' && arg !== '--durability' && arg !== '--rss');
    let status = 0;
    // Server RSS after 1,000,000 small keys, beside a --compare-ref build's: bench/rss.ts.
    if (argv.includes('--rss')) status = Math.max(status, await (await import('./rss.js')).runRss(rest));
    if (argv.includes('--compare')) status = Math.max(status, await (await import('./compare.js')).runCompare(rest));
    if (argv.includes('--scale')) status = Math.max(status, await (await import('./scale.js')).runScale(rest));
    // Persistence (--data-dir) under each fsync policy vs in memory and Redis AOF: bench/durability.ts.
    if (argv.includes('--durability')) status = Math.max(status, await (await import('./durability.js')).runDurability(rest));
    return status;
  }
  const options = parseRunOptions(argv);
  if (options.list) {
    for (const workload of WORKLOADS) console.log(`${workload.name.padEnd(24)} ${workload.transports.join(',').padEnd(14)} ${workload.summary}`);
    return 0;
  }
  const workloads = selectWorkloads(options.only);
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const cpuProfileDir = options.cpuProf ? join(root, '.bench-tmp') : undefined;

  const meta = {
    ...machineInfo(),
    servers: [] as string[],
    mode: options.quick ? 'quick' : 'full',
    warmupMs: options.settings.warmupMs,
    durationMs: options.settings.durationMs,
    reps: options.reps,
  };
  // What the numbers were measured on goes with the table (stdout), or to stderr beside the JSON.
  const describe = options.json ? progress : (line: string) => console.log(line);
  describe(`node ${meta.node}, ${meta.platform}, ${meta.cpu}`);
  describe(`${meta.mode} run: ${meta.warmupMs} ms warm-up + ${meta.durationMs} ms measured per run${meta.reps > 1 ? `, ${meta.reps} reps (medians shown)` : ''}`);
  describe(loadAtStartLine());

  const table = new ResultsTable();
  let failure: unknown;
  let ref: RefBuild | undefined;
  const started: Started[] = [];
  try {
    if (options.compareRef !== undefined) {
      ref = await buildRef(root, options.compareRef);
      describe(`--compare-ref ${options.compareRef}: commit ${ref.commit}, built in ${ref.root}`);
    }
    const subjects = ref === undefined ? options.subjects : [...options.subjects, syncmgrServer(ref)];
    // All servers run at once, idle between their turns, so their runs can be interleaved.
    for (const subject of subjects) {
      const running = await subject.start(cpuProfileDir === undefined ? {} : { cpuProfileDir });
      started.push({ subject, running });
      meta.servers.push(running.description);
      describe(running.description);
    }
    await runInterleaved(started, workloads, options, table);
  } catch (err) {
    failure = err;
  } finally {
    for (const { running } of started) await running.stop().catch((err: unknown) => progress(`stopping ${running.name}: ${String(err)}`));
    ref?.remove();
  }
  if (cpuProfileDir !== undefined) progress(`server CPU profile written to ${cpuProfileDir}/ (open it in Chrome DevTools or speedscope)`);

  // Ratios only from complete runs: after a failure, the pairing by repetition would be off.
  const ratios = ref === undefined || failure !== undefined ? [] : refRatios(table.toJSON(), 'syncmgr', ref.name);
  if (options.json) {
    console.log(JSON.stringify({ meta, results: table, ...(ref !== undefined && { ratios }), ...(failure !== undefined && { error: String(failure) }) }, null, 2));
  } else if (table.size > 0) {
    console.log('');
    console.log(table.render());
    if (ratios.length > 0) {
      console.log('');
      console.log(renderRefRatios(ratios, 'syncmgr', ref!.name, WORKLOAD_IDS));
      console.log('');
      console.log(`  ratios: this working tree's ops/s over ${ref!.name}'s, per repetition (the two runs of a repetition back to back),`);
      console.log(`  their median and min-max; server CPU/op: ${ref!.name}'s server CPU time per operation over this one's (above 1: this one`);
      console.log('  spends less). Both servers are driven by this working tree\'s clients (bench/README.md, "Against another commit").');
    }
    console.log('');
    for (const workload of workloads) console.log(`  ${workload.name}: ${workload.summary}`);
  }
  describe(`load average (1 min) at end: ${currentLoad().toFixed(2)}`);
  if (failure !== undefined) {
    const text = failure instanceof Error ? (failure.stack ?? failure.message) : String(failure);
    process.stderr.write(`\n${'!'.repeat(78)}\nBENCH FAILED: ${text}\n${'!'.repeat(78)}\n`);
    return 1;
  }
  // A plain `npm run bench` also reports persistence under each fsync policy (issue 5).
  if (argv.length === 0) {
    console.log('');
    return (await import('./durability.js')).runDurability([]);
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
