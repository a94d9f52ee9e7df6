/**
 * A coordinator and N worker processes share a job queue.
 *
 *   npm run example:jobs            # 4 workers, 200 jobs
 *   node dist/examples/job-queue.js 8 1000
 *
 * The coordinator starts a server in this process, forks the workers (they find the server
 * through SYNCMGR_URL), puts the jobs on a queue and waits on `join()` until every job is marked
 * done. Workers count their results in a shared dict, then everyone meets at a barrier so nobody
 * leaves before all results are in.
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { connect, connectionString } from 'syncmgr';
import { createServer } from 'syncmgr/server';

/** A job: count the primes below `limit` (some honest CPU work per item). */
interface Job {
  id: number;
  limit: number;
}

function countPrimes(limit: number): number {
  let count = 0;
  for (let n = 2; n < limit; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) {
      if (n % d === 0) {
        prime = false;
        break;
      }
    }
    if (prime) count++;
  }
  return count;
}

async function worker(workers: number): Promise<void> {
  const client = await connect(); // address and key come from SYNCMGR_URL
  const jobs = client.queue<Job | null>('jobs');
  let done = 0;
  for (;;) {
    const job = await jobs.get(); // blocks on the server until a job (or the stop marker) arrives
    if (job === null) {
      await jobs.taskDone();
      break;
    }
    const primes = countPrimes(job.limit);
    // Several counters in one atomic step: the totals never disagree, even mid-run.
    await client.atomic([
      { type: 'dict', name: 'results', op: 'incr', args: ['jobs'] },
      { type: 'dict', name: 'results', op: 'incr', args: ['primes', primes] },
      { type: 'dict', name: 'results', op: 'incr', args: [`worker-${process.pid}`] },
    ]);
    await jobs.taskDone();
    done++;
  }
  // Everyone (the workers and the coordinator) meets here before leaving.
  const index = await client.barrier('finished', workers + 1).wait({ timeout: 60 });
  process.stdout.write(`worker ${process.pid}: ${done} jobs, arrived ${index + 1} of ${workers + 1}\n`);
  await client.close();
}

async function coordinator(workers: number, jobCount: number): Promise<void> {
  const authkey = randomBytes(16).toString('hex');
  const server = createServer({ authkey, port: 0 });
  const [endpoint] = await server.listen();
  const url = connectionString(endpoint!, authkey);

  const self = fileURLToPath(import.meta.url);
  const children = Array.from({ length: workers }, () =>
    // The key travels in the environment, not on the command line where `ps` would show it.
    fork(self, ['worker', String(workers)], { env: { ...process.env, SYNCMGR_URL: url } }),
  );

  const client = await connect({ url });
  const jobs = client.queue<Job | null>('jobs');
  let expectedPrimes = 0;
  for (let id = 0; id < jobCount; id++) {
    const job = { id, limit: 2_000 + (id % 50) * 200 };
    expectedPrimes += countPrimes(job.limit);
    await jobs.put(job);
  }
  for (let i = 0; i < workers; i++) await jobs.put(null); // one stop marker per worker

  await jobs.join(); // every job, and every stop marker, marked done
  await client.barrier('finished', workers + 1).wait({ timeout: 60 });
  const exits = await Promise.all(children.map((child) => new Promise<number | null>((resolve) => child.on('exit', resolve))));

  const results = client.dict<number>('results');
  const items = Object.fromEntries(await results.items());
  console.log(`jobs done: ${items.jobs} of ${jobCount}; primes counted: ${items.primes} (expected ${expectedPrimes})`);
  for (const [key, value] of Object.entries(items)) if (key.startsWith('worker-')) console.log(`  ${key}: ${value} jobs`);
  await client.close();
  await server.close();
  const ok = items.jobs === jobCount && items.primes === expectedPrimes && exits.every((code) => code === 0);
  console.log(ok ? 'every job was done exactly once' : 'MISMATCH');
  process.exitCode = ok ? 0 : 1;
}

const [role, ...rest] = process.argv.slice(2);
if (role === 'worker') {
  await worker(Number(rest[0]));
} else {
  await coordinator(Number(role ?? 4), Number(rest[0] ?? 200));
}
