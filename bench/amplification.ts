/**
 * The amplification attack of issue 18 §2, measured: `set` a 1 MiB value at key `k` of dict `amp`,
 * then each of N connections writes `frames` requests `getMany(["k", "k", ... keys times])` in one
 * send and never reads. Meanwhile a bystander client pings the server in a loop. Prints, per N, the
 * server's peak RSS above its idle RSS, whether it survived, and the bystander's ping latencies.
 *
 *   npm run build && node dist/bench/amplification.js                      1, 8 and 64 connections
 *   node dist/bench/amplification.js --connections 8 --keys 15 --frames 8  answers just under the limit
 *   node dist/bench/amplification.js --transport ws --heap-mib 1024        over WebSocket, heap capped
 *
 * Traffic goes to 127.0.0.1 only; every run is bounded in time (--seconds, default 5).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { type Client, connect } from '../src/client/client.js';
import { DEFAULT_MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../src/protocol/constants.js';
import { clientHandshake } from '../src/protocol/handshake.js';
import { dial, type Endpoint } from '../src/transport/address.js';
import { type Channel, HandshakeReader } from '../src/transport/channel.js';
import { rssBytes } from './peers/proc.js';

/** The package root, from bench/ (tests run the source) or dist/bench/ (the built script). */
const ROOT = fileURLToPath(new URL(import.meta.url.includes('/dist/bench/') ? '../../' : '../', import.meta.url));
const BIN = join(ROOT, 'bin/syncmgr.js');
const AUTHKEY = 'amplification-bench';
const VALUE_BYTES = 1024 * 1024;

export interface AttackOptions {
  connections: number;
  /** getMany requests each connection writes in its one send. */
  frames: number;
  /** How many times each getMany names the 1 MiB key. */
  keys: number;
  transport: 'tcp' | 'ws';
  /** How long the bystander pings while the attack is on. */
  durationMs: number;
  /** --max-old-space-size of the server process, if set. */
  heapMiB?: number;
}

export interface AttackFigures {
  idleRssMiB: number;
  /** Highest RSS seen during the attack, minus the idle RSS. */
  peakRssAboveIdleMiB: number;
  /** Whether the server process was still running at the end. */
  alive: boolean;
  /** The bystander's pings for the same time before the attack: what the machine itself adds. */
  idlePing: PingFigures;
  pings: number;
  pingMaxMs: number;
  pingP99Ms: number;
  /** Pings that failed (the server died, or the call timed out). */
  pingFailures: number;
}

interface PingFigures {
  pings: number;
  maxMs: number;
  p99Ms: number;
  failures: number;
}

/** Pings in a loop for `durationMs` (or until the first failure, or `stop()` says so). */
async function pingFor(client: Client, durationMs: number, stop: () => boolean): Promise<PingFigures> {
  const latencies: number[] = [];
  let failures = 0;
  const until = Date.now() + durationMs;
  while (Date.now() < until && !stop()) {
    const started = performance.now();
    try {
      await client.ping();
      latencies.push(performance.now() - started);
    } catch {
      failures++;
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  latencies.sort((a, b) => a - b);
  return {
    pings: latencies.length,
    maxMs: latencies.at(-1) ?? Number.NaN,
    p99Ms: latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * 0.99))] ?? Number.NaN,
    failures,
  };
}

interface ServerProcess {
  child: ChildProcess;
  tcp: Endpoint;
  ws: Endpoint;
  exited: Promise<void>;
}

async function startServer(heapMiB: number | undefined): Promise<ServerProcess> {
  const execArgv = heapMiB === undefined ? [] : [`--max-old-space-size=${heapMiB}`];
  const child = spawn(process.execPath, [...execArgv, BIN, 'serve', '--port', '0', '--ws-port', '0', '--quiet'], {
    env: { PATH: process.env.PATH ?? '', SYNCMGR_AUTHKEY: AUTHKEY },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const lines: string[] = [];
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      if (lines.length >= 2) resolve();
    });
    void exited.then(() => reject(new Error('the server exited before listening')));
  });
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(lines.join('\n'))![1]);
  const url = /(ws:\/\/\S+)/.exec(lines.join('\n'))![1]!;
  return { child, tcp: { transport: 'tcp', host: '127.0.0.1', port }, ws: { transport: 'ws', url }, exited };
}

/** Resident set size of process `pid`, in MiB; 0 once it is gone. */
function rssMiB(pid: number): number {
  try {
    return rssBytes(pid) / 1024 / 1024;
  } catch {
    return 0;
  }
}

function clientOptions(endpoint: Endpoint) {
  return endpoint.transport === 'tcp' ? { host: endpoint.host, port: endpoint.port } : { url: (endpoint as { url: string }).url };
}

/** One attacking connection: handshake, hello and the getMany requests in one send; it never reads. */
async function attack(endpoint: Endpoint, frames: number, keys: number): Promise<Channel> {
  const channel = await dial(endpoint, { maxFrameBytes: DEFAULT_MAX_FRAME_BYTES });
  // After the handshake the reader leaves the channel paused, and nobody resumes it: nothing is read.
  await clientHandshake(new HandshakeReader(channel, 3, DEFAULT_MAX_FRAME_BYTES), Buffer.from(AUTHKEY));
  const names = JSON.stringify(Array.from({ length: keys }, () => 'k'));
  channel.send(JSON.stringify({ id: 0, op: 'hello', args: [{ protocol: PROTOCOL_VERSION, client: 'amplification' }] }));
  for (let i = 1; i <= frames; i++) channel.send(`{"id":${i},"op":"getMany","type":"dict","name":"amp","args":[${names}]}`);
  return channel;
}

export async function runAttack(options: AttackOptions): Promise<AttackFigures> {
  const server = await startServer(options.heapMiB);
  const pid = server.child.pid!;
  const endpoint = options.transport === 'tcp' ? server.tcp : server.ws;
  let alive = true;
  void server.exited.then(() => (alive = false));
  const channels: Channel[] = [];
  let bystander: Client | undefined;
  try {
    const setup = await connect({ authkey: AUTHKEY, ...clientOptions(server.tcp) });
    await setup.dict('amp').set('k', 'x'.repeat(VALUE_BYTES));
    await setup.close();
    bystander = await connect({ authkey: AUTHKEY, ...clientOptions(server.tcp), timeout: 10 });
    const idlePing = await pingFor(bystander, options.durationMs, () => !alive);
    const idle = rssMiB(pid);
    let peak = idle;
    const sampler = setInterval(() => {
      if (alive) peak = Math.max(peak, rssMiB(pid));
    }, 20);
    try {
      try {
        for (let i = 0; i < options.connections; i++) channels.push(await attack(endpoint, options.frames, options.keys));
      } catch (err) {
        // The server died under the attack: that is a result, reported as such.
        await Promise.race([server.exited, new Promise((resolve) => setTimeout(resolve, 2000))]);
        if (alive) throw err;
      }
      const pings = await pingFor(bystander, options.durationMs, () => !alive);
      return {
        idleRssMiB: idle,
        peakRssAboveIdleMiB: peak - idle,
        alive,
        idlePing,
        pings: pings.pings,
        pingMaxMs: pings.maxMs,
        pingP99Ms: pings.p99Ms,
        pingFailures: pings.failures,
      };
    } finally {
      clearInterval(sampler);
    }
  } finally {
    for (const channel of channels) channel.destroy();
    await bystander?.close().catch(() => {});
    if (alive) server.child.kill('SIGKILL');
    await server.exited;
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      connections: { type: 'string', default: '1,8,64' },
      frames: { type: 'string', default: '8' },
      keys: { type: 'string', default: '200' },
      transport: { type: 'string', default: 'tcp' },
      seconds: { type: 'string', default: '5' },
      'heap-mib': { type: 'string' },
    },
  });
  const transport = values.transport === 'ws' ? 'ws' : 'tcp';
  console.log(
    `amplification: ${values.frames} x getMany of ${values.keys} x a 1 MiB key per connection, one send, never read; ` +
      `${transport}; bystander pings for ${values.seconds} s${values['heap-mib'] ? `; heap ${values['heap-mib']} MiB` : ''}`,
  );
  console.log('connections  idle RSS  peak RSS above idle  alive  pings  ping max  ping p99  failed  (before the attack: ping max  p99)');
  for (const connections of values.connections.split(',').map(Number)) {
    const figures = await runAttack({
      connections,
      frames: Number(values.frames),
      keys: Number(values.keys),
      transport,
      durationMs: Number(values.seconds) * 1000,
      ...(values['heap-mib'] !== undefined && { heapMiB: Number(values['heap-mib']) }),
    });
    console.log(
      `${String(connections).padStart(11)}  ${figures.idleRssMiB.toFixed(0).padStart(4)} MiB  ${figures.peakRssAboveIdleMiB.toFixed(0).padStart(15)} MiB  ` +
        `${(figures.alive ? 'yes' : 'NO').padStart(5)}  ${String(figures.pings).padStart(5)}  ${figures.pingMaxMs.toFixed(1).padStart(5)} ms  ` +
        `${figures.pingP99Ms.toFixed(1).padStart(5)} ms  ${String(figures.pingFailures).padStart(6)}  ` +
        `${figures.idlePing.maxMs.toFixed(1).padStart(25)} ms  ${figures.idlePing.p99Ms.toFixed(1)} ms`,
    );
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  });
}
