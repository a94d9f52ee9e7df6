/**
 * Many real processes on one server, the way the package is meant to be used: workers started
 * with SYNCMGR_URL in their environment, running the built package (dist/, built by
 * `npx tsc -p tsconfig.build.json`; `npm test` builds first).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { onCleanup, startServer, type TestServer, connectTo } from '../helpers/server.js';

const FIXTURES = join(import.meta.dirname, '../fixtures');
const DIST_INDEX = join(import.meta.dirname, '../../dist/src/index.js');

const WORKERS = 8;
const INCREMENTS = 2_500;
const ROUNDS = 2_000;

interface Worker {
  child: ChildProcess;
  /** Resolves with the worker's {ready} message. */
  ready: Promise<unknown>;
  /** Resolves with its final {done, ...} message. */
  result: Promise<Record<string, unknown>>;
  /** Resolves with its exit code (a signal counts as failure: null). */
  exit: Promise<number | null>;
}

/** Forks a fixture with only the variables it needs; killed after the file if still running. */
function startWorker(script: string, env: Record<string, string>): Worker {
  const child = fork(join(FIXTURES, script), [], {
    // No inherited execArgv (vitest's own flags) and no inherited SYNCMGR_* variables.
    execArgv: [],
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<{ key: string; resolve: (m: Record<string, unknown>) => void }> = [];
  child.on('message', (message: Record<string, unknown>) => {
    messages.push(message);
    for (const waiter of waiters.filter((w) => w.key in message)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message);
    }
  });
  // 'close', not 'exit': it comes after the IPC channel has delivered everything.
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const awaitMessage = (key: string) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const seen = messages.find((m) => key in m);
      if (seen) return resolve(seen);
      waiters.push({ key, resolve });
      void exit.then((code) => reject(new Error(`${script} exited with code ${code} before sending {${key}}`)));
    });
  const ready = awaitMessage('ready');
  const result = awaitMessage('done');
  // A worker that dies early rejects both; the test awaits them one at a time.
  ready.catch(() => {});
  result.catch(() => {});
  return { child, ready, result, exit };
}

describe('many processes on one server', () => {
  let server: TestServer;

  beforeAll(async () => {
    if (!existsSync(DIST_INDEX)) {
      throw new Error(`${DIST_INDEX} is missing: run \`npx tsc -p tsconfig.build.json\` (npm test does) before this file`);
    }
    server = await startServer();
  });

  it(`${WORKERS} processes × ${INCREMENTS} incr on one key end at exactly ${WORKERS * INCREMENTS}, while another process's multi-key updates are never seen half-applied`, { timeout: 120_000 }, async () => {
    const env = { SYNCMGR_URL: server.url };
    const counters = Array.from({ length: WORKERS }, (_, i) =>
      startWorker('counter-worker.mjs', {
        ...env,
        DICT: 'counters',
        KEY: 'hits',
        INCREMENTS: String(INCREMENTS),
        // Half the workers wait for each answer, half keep 16 calls in flight.
        WINDOW: i % 2 === 0 ? '1' : '16',
      }),
    );
    const updater = startWorker('update-worker.mjs', { ...env, ROUNDS: String(ROUNDS), FILLER: '20' });
    const everyone = [...counters, updater];

    // All connected and authenticated; now start them together.
    await Promise.all(everyone.map((w) => w.ready));
    const observer = await connectTo(server.tcp);
    const state = observer.dict<number>('state');
    for (const w of everyone) w.child.send('go');

    // This process reads too, as long as the updater writes.
    const seenRounds = new Set<number>();
    const torn: unknown[] = [];
    let updaterDone = false;
    void updater.result.then(
      () => (updaterDone = true),
      () => (updaterDone = true),
    );
    while (!updaterDone) {
      const [a, b, c, filler] = await state.getMany(['a', 'b', 'c', 'f19'], 0);
      if (!(a === b && b === c && c === filler)) torn.push([a, b, c, filler]);
      seenRounds.add(a!);
    }

    const results = await Promise.all(counters.map((w) => w.result));
    const updaterResult = await updater.result;
    const codes = await Promise.all(everyone.map((w) => w.exit));

    // Every process finished its work and exited on its own, successfully.
    expect(codes).toEqual(Array(WORKERS + 1).fill(0));
    expect(updaterResult.rounds).toBe(ROUNDS);

    // No increment lost, none applied twice: the total is exact and every incr returned a
    // distinct value, together exactly 1..N.
    expect(await observer.dict<number>('counters').get('hits')).toBe(WORKERS * INCREMENTS);
    const values = results.flatMap((r) => r.values as number[]).sort((x, y) => x - y);
    expect(values).toHaveLength(WORKERS * INCREMENTS);
    expect(values.every((v, i) => v === i + 1)).toBe(true);

    // No reader, in any process, ever saw a, b, c (and the filler keys) from different rounds.
    expect(torn).toEqual([]);
    expect(results.flatMap((r) => r.torn as unknown[])).toEqual([]);
    const [a, b, c] = await state.getMany(['a', 'b', 'c']);
    expect([a, b, c]).toEqual([ROUNDS, ROUNDS, ROUNDS]);
    // The reads really overlapped the writes: this process saw intermediate rounds.
    expect([...seenRounds].some((round) => round > 0 && round < ROUNDS)).toBe(true);
    expect(results.reduce((sum, r) => sum + (r.reads as number), 0)).toBeGreaterThan(0);

    // Every worker's session is gone once it exits.
    await expect.poll(() => server.server.connectionCount).toBe(1);
  });
});
