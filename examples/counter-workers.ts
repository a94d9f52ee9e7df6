/**
 * Counter workers: several processes add to the same shared counters, and none of their
 * increments is lost.
 *
 *   npm run build
 *   npm run example:counter                       # 4 workers x 1000 increments
 *   node dist/examples/counter-workers.js 8 5000  # 8 workers x 5000 increments
 *
 * The parent process starts a syncmgr server, forks N copies of this same file as workers, and
 * each worker increments two counters in the shared dict `counters`: `total`, which every worker
 * shares, and `worker-<i>`, its own. When all workers have exited, the parent reads the dict back
 * and checks that `total` is exactly N x M. It exits with status 1 if it is not.
 *
 * This is the syncmgr version of the classic Python pattern
 *
 *   manager = SyncManager(authkey=...); counters = manager.dict(); ... Process(target=work) ...
 *
 * with one difference worth knowing: a read-modify-write done by the client (get, add one, set)
 * would lose updates when workers interleave. `incr` is a single request that the server applies
 * atomically, so there is no lock to take and nothing to lose.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
// Examples use the package exactly as an application would: by its name, never by a path into src/.
import { connect, connectionString, formatEndpoint } from 'syncmgr';
import { createServer } from 'syncmgr/server';

/** The shared dict every process works on, and the key they all add to. */
const DICT = 'counters';
const TOTAL_KEY = 'total';
const workerKey = (index: number): string => `worker-${index}`;

/** The environment variable `connect()` reads when it is given no address of its own. */
const URL_VARIABLE = 'SYNCMGR_URL';

// The same compiled file is both the parent and the workers: `fork` runs it again with `worker`
// as its first argument.
if (process.argv[2] === 'worker') {
  await runWorker(Number(process.argv[3]), Number(process.argv[4]));
} else {
  process.exitCode = await runParent(
    positiveInteger(process.argv[2], 4, 'number of workers'),
    positiveInteger(process.argv[3], 1000, 'increments per worker'),
  );
}

/** Starts the server, runs the workers, checks the totals. Resolves with the exit status. */
async function runParent(workers: number, increments: number): Promise<number> {
  // A fresh random key per run: any process that knows it can read and change every shared
  // object, so it is never hard-coded, and it only lives as long as this run.
  const authkey = randomBytes(32).toString('hex');

  // Port 0 asks the OS for any free port, so two runs (or a test suite) never collide.
  // `listen()` resolves with the addresses actually bound, port included.
  const server = createServer({ authkey, host: '127.0.0.1', port: 0 });
  const [endpoint] = await server.listen();
  console.log(`server listening on ${formatEndpoint(endpoint!)}; ${workers} workers x ${increments} increments`);

  try {
    // One string carries both the address and the key. It goes to the workers through their
    // environment, not their arguments: any user on the machine can read a process's arguments
    // (`ps`), while its environment is readable only by its owner.
    const url = connectionString(endpoint!, authkey);
    const started = process.hrtime.bigint();
    const exits = [];
    for (let index = 0; index < workers; index++) {
      const child = fork(fileURLToPath(import.meta.url), ['worker', String(index), String(increments)], {
        env: { ...process.env, [URL_VARIABLE]: url },
      });
      exits.push(exitOf(child, index));
    }
    // Wait for every worker, even when one fails, so none is left running behind us.
    const failures = (await Promise.allSettled(exits)).filter((outcome) => outcome.status === 'rejected');
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    for (const failure of failures) console.error(String((failure as PromiseRejectedResult).reason));

    // The parent is a client like any other: it reads the counters over the same protocol.
    const client = await connect({ url });
    try {
      const counters = client.dict<number>(DICT);
      const expected = workers * increments;
      const total = (await counters.get(TOTAL_KEY)) ?? 0;
      const perWorker = await counters.getMany(Array.from({ length: workers }, (_, index) => workerKey(index)), 0);

      perWorker.forEach((count, index) => console.log(`  ${workerKey(index).padEnd(10)} ${count}`));
      console.log(`  ${TOTAL_KEY.padEnd(10)} ${total} (expected ${workers} x ${increments} = ${expected})`);
      const applied = total + perWorker.reduce((sum, count) => sum + count, 0);
      console.log(`${applied} increments in ${seconds.toFixed(2)} s (${Math.round(applied / seconds)} per second, process start-up included)`);

      const exact = failures.length === 0 && total === expected && perWorker.every((count) => count === increments);
      console.log(exact ? 'exact: no increment was lost' : 'NOT EXACT: increments were lost or a worker failed');
      return exact ? 0 : 1;
    } finally {
      await client.close();
    }
  } finally {
    // Closing tells connected clients the server is going away and frees the port.
    await server.close();
  }
}

/** One worker: connects with the address and key from its environment and increments. */
async function runWorker(index: number, increments: number): Promise<void> {
  // No options: connect() finds SYNCMGR_URL in the environment the parent gave us.
  const client = await connect();
  try {
    // A proxy is only a handle: the dict lives on the server, and this creates it on first use.
    const counters = client.dict<number>(DICT);
    for (let i = 0; i < increments; i++) {
      // Each incr is one round trip, applied atomically by the server. Awaiting each one keeps the
      // example simple; a real worker could keep many requests in flight on the same connection.
      await counters.incr(TOTAL_KEY);
      await counters.incr(workerKey(index));
    }
  } finally {
    // Always close: the server keeps a session for each open connection.
    await client.close();
  }
}

/** Resolves when the worker exits with status 0; rejects if it fails or dies from a signal. */
function exitOf(child: ReturnType<typeof fork>, index: number): Promise<void> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`worker ${index} failed (${signal ?? `exit status ${code}`})`));
    });
  });
}

/** Reads an optional positive whole number from the command line. */
function positiveInteger(text: string | undefined, fallback: number, what: string): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 1) {
    console.error(`usage: counter-workers.js [workers] [increments-per-worker]\n${what} must be a positive whole number, not ${JSON.stringify(text)}`);
    process.exit(2);
  }
  return value;
}
