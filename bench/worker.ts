/**
 * A bench worker process, forked by multi-process workloads (see workloads.ts). It connects to the
 * target named in its environment, says `ready`, and on `run` warms up, measures and reports.
 *
 *   worker → parent   { type: 'ready' }                  connected
 *   parent → worker   { type: 'run', key, lanes, ... }   sent to all workers at once
 *   worker → parent   { type: 'result', ops, ... }       then it closes and exits
 *
 * The target (with its key) comes in SYNCMGR_BENCH_TARGET, never on the command line.
 */
import { incrLoop, type RunMessage, TARGET_VARIABLE, warmUp, type WorkerMessage } from './drive.js';
import { openClient, type Target } from './subjects.js';

async function main(): Promise<void> {
  const text = process.env[TARGET_VARIABLE];
  if (text === undefined || process.send === undefined) {
    throw new Error(`bench/worker.js is started by the bench (fork, with ${TARGET_VARIABLE} set), not by hand`);
  }
  const target = JSON.parse(text) as Target;
  const client = await openClient(target);
  try {
    const run = await new Promise<RunMessage>((resolve) => {
      process.once('message', (message) => resolve(message as RunMessage));
      send({ type: 'ready' });
    });
    // Warm-up counts on keys of its own, so the measured key holds exactly the measured increments.
    const warmupOps = await warmUp(client, { key: run.key, op: run.op ?? 'incr', lanes: run.lanes, durationMs: run.warmupMs, exclusiveKey: false });
    const result = await incrLoop(client, { key: run.key, op: run.op ?? 'incr', lanes: run.lanes, durationMs: run.durationMs, recordLatency: true, exclusiveKey: false });
    await sendAndWait({ type: 'result', warmupOps, ...result });
  } finally {
    await client.close();
  }
  // Nothing else is pending; disconnecting lets the process exit on its own.
  process.disconnect();
}

function send(message: WorkerMessage): void {
  process.send!(message);
}

function sendAndWait(message: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, undefined, {}, (err) => (err ? reject(err) : resolve())));
}

main().catch((err: unknown) => {
  process.stderr.write(`bench worker ${process.pid}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
