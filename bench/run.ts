/**
 * `npm run bench`: starts the server in its own process, runs every workload over its transports,
 * checks each run's final count, and prints a table.
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
 *   npm run bench -- --subjects syncmgr    the servers to measure, in turn (peers go in subjects.ts)
 *   npm run bench -- --compare             side by side with Redis and SyncManager (bench/compare.ts)
 *   npm run bench -- --durability          --data-dir under each fsync policy vs memory and Redis AOF (bench/durability.ts;
 *                                          a plain `npm run bench` runs it after the workloads)
 *   npm run bench -- --scale               memory and connection-scale figures (bench/scale.ts)
 *
 * Exits with status 1, after printing what did run, if any run's count is not exact.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { makeRow, ResultsTable, type RunResult, toRunResult } from './results.js';
import { type RunningSubject, type Subject, SUBJECTS, type Transport, TRANSPORTS } from './subjects.js';
import { type Measurement, selectWorkloads, type Workload, WORKLOADS, type WorkloadSettings } from './workloads.js';
import { choose, commonOptions, list, progress, runSettings } from './cli-args.js';
import { machineInfo } from './machine.js';

const QUICK: WorkloadSettings = { warmupMs: 100, durationMs: 300 };

/** A run whose count does not match: the one result the bench must never print as a number. */
class CountCheckError extends Error {
  override get name(): string {
    return 'CountCheckError';
  }
}

interface Options {
  quick: boolean;
  json: boolean;
  reps: number;
  only: string[];
  /** Overrides each workload's own transports when not empty. */
  transports: Transport[];
  /** The servers measured, one after the other. */
  subjects: Subject[];
  list: boolean;
  cpuProf: boolean;
  settings: WorkloadSettings;
}

function parseOptions(argv: string[]): Options {
  const { values } = parseArgs({
    args: argv,
    options: {
      ...commonOptions(1),
      transports: { type: 'string', default: '' },
      subjects: { type: 'string', default: 'syncmgr' },
      list: { type: 'boolean', default: false },
      'cpu-prof': { type: 'boolean', default: false },
    },
    strict: true,
  });
  const { reps, settings } = runSettings(values, QUICK);
  return {
    quick: values.quick,
    json: values.json,
    reps,
    only: list(values.only),
    transports: choose(values.transports, TRANSPORTS, 'transport'),
    subjects: list(values.subjects).map((name) => {
      const subject = SUBJECTS[name];
      if (subject === undefined) throw new Error(`unknown subject ${name}; known: ${Object.keys(SUBJECTS).join(', ')}`);
      return subject;
    }),
    list: values.list,
    cpuProf: values['cpu-prof'],
    settings,
  };
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

/** Every selected workload over its transports, `reps` times each, against one running subject. */
async function runWorkloads(subject: Subject, running: RunningSubject, workloads: Workload[], options: Options, table: ResultsTable): Promise<void> {
  for (const workload of workloads) {
    if (workload.subjects !== undefined && !workload.subjects.includes(running.name)) {
      progress(`skipping ${workload.name}: not available on ${running.name}`);
      continue;
    }
    for (const transport of options.transports.length > 0 ? options.transports : workload.transports) {
      const target = running.targets[transport];
      if (target === undefined) {
        progress(`skipping ${workload.name} over ${transport}: ${running.name} does not listen there`);
        continue;
      }
      const runs: RunResult[] = [];
      for (let rep = 1; rep <= options.reps; rep++) {
        const what = `${workload.name} / ${running.name} / ${transport}${options.reps > 1 ? ` (rep ${rep}/${options.reps})` : ''}`;
        progress(`running ${what}...`);
        const measurement = await workload.run({
          target,
          settings: options.settings,
          // Unique per run (a transport may be listed twice), so every count starts from zero.
          key: `${workload.name}:${transport}:${++runNumber}`,
          open: () => subject.open(target),
        });
        verify(measurement, what);
        runs.push(toRunResult(measurement));
      }
      table.add(makeRow(workload.name, running.name, transport, runs));
    }
  }
}

async function main(): Promise<number> {
  // Side-by-side comparison with Redis and SyncManager, and memory/scale figures: own modules.
  const argv = process.argv.slice(2);
  if (argv.includes('--compare') || argv.includes('--scale') || argv.includes('--durability')) {
    const rest = argv.filter((arg) => arg !== '--compare' && arg !== '--scale' && arg !== '--durability');
    let status = 0;
    if (argv.includes('--compare')) status = Math.max(status, await (await import('./compare.js')).runCompare(rest));
    if (argv.includes('--scale')) status = Math.max(status, await (await import('./scale.js')).runScale(rest));
    // Persistence (--data-dir) under each fsync policy vs in memory and Redis AOF: bench/durability.ts.
    if (argv.includes('--durability')) status = Math.max(status, await (await import('./durability.js')).runDurability(rest));
    return status;
  }
  const options = parseOptions(argv);
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

  const table = new ResultsTable();
  let failure: unknown;
  try {
    // One subject at a time, each with its own server, so peers never compete for the CPU.
    for (const subject of options.subjects) {
      const running = await subject.start(cpuProfileDir === undefined ? {} : { cpuProfileDir });
      meta.servers.push(running.description);
      describe(running.description);
      try {
        await runWorkloads(subject, running, workloads, options, table);
      } finally {
        await running.stop();
      }
    }
  } catch (err) {
    failure = err;
  }
  if (cpuProfileDir !== undefined) progress(`server CPU profile written to ${cpuProfileDir}/ (open it in Chrome DevTools or speedscope)`);

  if (options.json) {
    console.log(JSON.stringify({ meta, results: table, ...(failure !== undefined && { error: String(failure) }) }, null, 2));
  } else if (table.size > 0) {
    console.log('');
    console.log(table.render());
    console.log('');
    for (const workload of workloads) console.log(`  ${workload.name}: ${workload.summary}`);
  }
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
