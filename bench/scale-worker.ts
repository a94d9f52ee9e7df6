/**
 * A client process for bench/scale.ts, started with an IPC channel (through `sh -c 'ulimit -n N;
 * exec node ...'` when the open-file limit has to be raised for it).
 *
 *   parent → worker  { type: 'hold', url, count }        open `count` authenticated syncmgr
 *   worker → parent  { type: 'held', ok, failed, ... }   connections at once, and keep them open
 *   parent → worker  { type: 'release' }                 close them all, then exit
 *
 *   parent → worker  { type: 'drive', target, connections }   open the clients (any subject)
 *   worker → parent  { type: 'ready' }
 *   parent → worker  { type: 'go', key, warmupMs, durationMs } each client: sequential incr
 *   worker → parent  { type: 'result', ops, startMs, endMs, latenciesNs }, then exit
 */
import { type Client, connect } from 'syncmgr';
import { incrLoop } from './drive.js';
import { type BenchClient, openClient, type Target } from './subjects.js';

export type ScaleRequest =
  | { type: 'hold'; url: string; count: number }
  | { type: 'release' }
  | { type: 'drive'; target: Target; connections: number }
  | { type: 'go'; key: string; warmupMs: number; durationMs: number };

export type ScaleReply =
  | { type: 'held'; ok: number; failed: number; firstError?: string; ms: number }
  | { type: 'ready' }
  | { type: 'result'; ops: number; startMs: number; endMs: number; latenciesNs: number[] }
  | { type: 'released' };

function send(message: ScaleReply): Promise<void> {
  return new Promise((resolve, reject) => process.send!(message, undefined, {}, (err) => (err ? reject(err) : resolve())));
}

function nextMessage(): Promise<ScaleRequest> {
  return new Promise((resolve) => process.once('message', (message) => resolve(message as ScaleRequest)));
}

/**
 * Seconds each of the idle connections may take to be accepted and authenticated. Opened all at
 * once, the last ones wait behind thousands of handshakes: up to ~18 s seen on this 2-core
 * machine, past the client's default connectTimeout of 10 s. What is measured is how long that
 * takes; a connection that never gets in still fails the check.
 */
const CONNECT_TIMEOUT_S = 30;

async function hold(url: string, count: number): Promise<void> {
  const start = performance.now();
  const settled = await Promise.allSettled(Array.from({ length: count }, () => connect({ url, connectTimeout: CONNECT_TIMEOUT_S })));
  const ms = performance.now() - start;
  const clients = settled.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  const failures = settled.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
  const next = nextMessage(); // listening before the parent can answer
  await send({
    type: 'held',
    ok: clients.length,
    failed: failures.length,
    ms,
    ...(failures.length > 0 && { firstError: String(failures[0] instanceof Error ? failures[0].message : failures[0]) }),
  });
  const release = await next;
  if (release.type !== 'release') throw new Error(`expected release, got ${release.type}`);
  await Promise.allSettled(clients.map((client: Client) => client.close()));
  await send({ type: 'released' });
}

async function drive(target: Target, connections: number): Promise<void> {
  const clients: BenchClient[] = await Promise.all(Array.from({ length: connections }, () => openClient(target)));
  try {
    const go = nextMessage(); // listening before the parent can answer
    await send({ type: 'ready' });
    const run = await go;
    if (run.type !== 'go') throw new Error(`expected go, got ${run.type}`);
    const loop = (key: string, durationMs: number, recordLatency: boolean) =>
      Promise.all(clients.map((client) => incrLoop(client, { key, lanes: 1, durationMs, recordLatency, exclusiveKey: false })));
    await loop(`${run.key}:warmup`, run.warmupMs, false);
    const results = await loop(run.key, run.durationMs, true);
    await send({
      type: 'result',
      ops: results.reduce((sum, result) => sum + result.ops, 0),
      startMs: Math.min(...results.map((result) => result.startMs)),
      endMs: Math.max(...results.map((result) => result.endMs)),
      latenciesNs: results.flatMap((result) => result.latenciesNs),
    });
  } finally {
    await Promise.allSettled(clients.map((client) => client.close()));
  }
}

async function main(): Promise<void> {
  if (process.send === undefined) throw new Error('bench/scale-worker.js is started by bench/scale.js (with an IPC channel), not by hand');
  const first = await nextMessage();
  if (first.type === 'hold') await hold(first.url, first.count);
  else if (first.type === 'drive') await drive(first.target, first.connections);
  else throw new Error(`unexpected first message ${first.type}`);
  process.disconnect();
}

main().catch((err: unknown) => {
  process.stderr.write(`scale worker ${process.pid}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
