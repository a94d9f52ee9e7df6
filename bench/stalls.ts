/**
 * The worst stall one request of at most max-frame bytes causes: how long a bystander client's
 * ping waits while a syncmgr server (a child process, default 16 MiB frames) serves it.
 *
 *   npm run build && node dist/bench/stalls.js [--runs 3] [--only update,items,getMany,nested,set]
 *
 * The bystander runs in a worker thread and pings back to back, so the attacker's own work (its
 * request is built before the clock starts, its answer counted, never parsed) delays no ping. A
 * run's figure is the slowest ping answered from just before the request is sent until just after
 * its answer arrived; the table shows the worst of the runs, and the request's own round trip.
 * Traffic goes to 127.0.0.1 only.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect as netConnect, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { connect } from '../src/client/client.js';
import { DEFAULT_MAX_FRAME_BYTES } from '../src/protocol/constants.js';
import { encodeFrame, encodeHeader } from '../src/protocol/frame.js';
import { clientHandshake } from '../src/protocol/handshake.js';
import { choose } from './cli-args.js';
import { killOnExit, sleep, stopChild } from './peers/proc.js';

const SYNCMGR_CLI = fileURLToPath(new URL('../../bin/syncmgr.js', import.meta.url));
const KINDS = ['set', 'update', 'items', 'getMany', 'nested'] as const;
type Kind = (typeof KINDS)[number];

/** Longest a single request may take before the run is called failed. */
const REQUEST_DEADLINE_MS = 60_000;

// ---------------------------------------------------------------------------------------------
// The bystander (worker thread): pings until told to stop, and reports the slowest since a reset.

interface BystanderReport {
  slowestMs: number;
  pings: number;
}

async function bystander(url: string): Promise<void> {
  const client = await connect({ url });
  let slowest = 0;
  let pings = 0;
  let pendingSince = 0;
  let running = true;
  parentPort!.on('message', (message: 'reset' | 'report' | 'stop') => {
    if (message === 'reset') {
      slowest = 0;
      pings = 0;
    } else if (message === 'report') {
      // A ping still waiting counts for as long as it has waited.
      const waiting = pendingSince > 0 ? performance.now() - pendingSince : 0;
      parentPort!.postMessage({ slowestMs: Math.max(slowest, waiting), pings } satisfies BystanderReport);
    } else running = false;
  });
  parentPort!.postMessage('ready');
  while (running) {
    pendingSince = performance.now();
    if (!(await client.ping().then(() => true, () => false))) {
      if (running) process.stderr.write('bystander: its connection failed\n');
      break;
    }
    const took = performance.now() - pendingSince;
    pendingSince = 0;
    slowest = Math.max(slowest, took);
    pings++;
    // Lets the messages from the main thread in.
    await new Promise((resolve) => setImmediate(resolve));
  }
  await client.close();
}

// ---------------------------------------------------------------------------------------------
// The attacker: a raw connection that sends prepared frames and counts answers without parsing.

class RawConnection {
  private header: number[] = [];
  /** Bytes of the current answer's payload still to skip, once its header was read. */
  private skipping = 0;
  private head: Buffer = Buffer.alloc(0);
  private waiter: ((head: Buffer) => void) | undefined;
  private readonly done: Buffer[] = [];

  private constructor(private readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  static async open(port: number, authkey: string): Promise<RawConnection> {
    const socket = netConnect({ host: '127.0.0.1', port });
    socket.setNoDelay(true);
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    const raw = new RawConnection(socket);
    await clientHandshake({ send: (payload) => raw.send(payload), receive: () => raw.answer() }, Buffer.from(authkey));
    raw.send(JSON.stringify({ id: 'hello', op: 'hello', args: [{ protocol: 1 }] }));
    await raw.answer();
    return raw;
  }

  send(payload: Buffer | string): void {
    this.socket.write(encodeFrame(payload));
  }

  /** Writes a prepared payload after its header, without copying it into one frame. */
  sendPayload(payload: Buffer): void {
    this.socket.write(encodeHeader(payload.length));
    this.socket.write(payload);
  }

  /** The first 200 bytes of the next answer, once all of it has arrived. */
  answer(): Promise<Buffer> {
    const ready = this.done.shift();
    if (ready !== undefined) return Promise.resolve(ready);
    return new Promise((resolve) => (this.waiter = resolve));
  }

  close(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.skipping > 0) {
        const take = Math.min(this.skipping, chunk.length - offset);
        if (this.head.length < 200) this.head = Buffer.concat([this.head, chunk.subarray(offset, offset + Math.min(take, 200 - this.head.length))]);
        this.skipping -= take;
        offset += take;
        if (this.skipping === 0) this.finish();
        continue;
      }
      // A header, byte by byte: 4 bytes, or 12 when the first 4 read -1 (the extended form).
      this.header.push(chunk[offset++]!);
      if (this.header.length < 4) continue;
      const bytes = Buffer.from(this.header);
      const short = bytes.readInt32BE(0);
      if (short === -1 && this.header.length < 12) continue;
      this.header = [];
      this.skipping = short === -1 ? Number(bytes.readBigUInt64BE(4)) : short;
      this.head = Buffer.alloc(0);
      if (this.skipping === 0) this.finish();
    }
  }

  private finish(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter !== undefined) waiter(this.head);
    else this.done.push(this.head);
  }
}

// ---------------------------------------------------------------------------------------------
// The requests, each at most max-frame bytes.

function keyName(i: number): string {
  return `k${String(i).padStart(7, '0')}`;
}

/** As many keys as fit in one request of `maxFrame` bytes with the `update` around them. */
function keyCount(maxFrame: number): number {
  // "k0000000":0, is 13 bytes.
  return Math.floor((maxFrame - 200) / 13);
}

function request(id: string, op: string, args: unknown[]): Buffer {
  return Buffer.from(JSON.stringify({ id, op, type: 'dict', name: 'stall', args }));
}

function prepare(kind: Kind, id: string, maxFrame: number): Buffer {
  const keys = keyCount(maxFrame);
  switch (kind) {
    case 'set':
      return request(id, 'set', ['big', 'x'.repeat(maxFrame - 200)]);
    case 'update': {
      const entries: Record<string, number> = {};
      for (let i = 0; i < keys; i++) entries[keyName(i)] = 0;
      return request(id, 'update', [entries]);
    }
    case 'items':
      return request(id, 'items', []);
    case 'getMany':
      return request(id, 'getMany', [Array.from({ length: Math.floor((maxFrame - 200) / 11) }, (_, i) => keyName(i % keys))]);
    case 'nested': {
      const payload = Buffer.alloc(maxFrame, '[');
      payload.write(`{"id":"${id}","op":"set","type":"dict","name":"stall","args":["deep",`);
      return payload;
    }
  }
}

// ---------------------------------------------------------------------------------------------

interface Row {
  kind: Kind;
  requestBytes: number;
  answer: string;
  worstStallMs: number;
  roundTripMs: number;
}

async function startServer(authkey: string): Promise<{ child: ChildProcess; port: number }> {
  // A long session timeout: the attacker sends no heartbeats, and a stall must not end sessions.
  const child = spawn(process.execPath, [SYNCMGR_CLI, 'serve', '--port', '0', '--quiet', '--session-timeout', '600'], {
    env: { ...process.env, SYNCMGR_AUTHKEY: authkey },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the server exited (${code})`)));
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening on tcp:\/\/[^\s]*:(\d+)/.exec(chunk.toString());
      if (match !== null) resolve(Number(match[1]));
    });
  });
  return { child, port };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '3' }, only: { type: 'string' } } });
  const runs = Number(values.runs);
  const kinds = values.only !== undefined ? choose(values.only, KINDS, 'kind') : [...KINDS];
  const authkey = randomBytes(16).toString('hex');
  const { child, port } = await startServer(authkey);
  const undoKill = killOnExit(child);
  const url = `tcp://:${authkey}@127.0.0.1:${port}`;
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: { url } });
  await new Promise((resolve) => worker.once('message', resolve));
  const ask = (): Promise<BystanderReport> => {
    const report = new Promise<BystanderReport>((resolve) => worker.once('message', resolve));
    worker.postMessage('report');
    return report;
  };
  const attacker = await RawConnection.open(port, authkey);
  process.stderr.write('connected; filling the dict\n');
  const rows: Row[] = [];
  try {
    // The dict the reads work on: as many keys as one update of max-frame bytes holds.
    attacker.sendPayload(prepare('update', 'fill', DEFAULT_MAX_FRAME_BYTES));
    await attacker.answer();
    process.stderr.write('filled\n');
    for (const kind of kinds) {
      let worst = 0;
      let slowestTrip = 0;
      let answer = '';
      let bytes = 0;
      for (let run = 0; run < runs; run++) {
        const payload = prepare(kind, `${kind}-${run}`, DEFAULT_MAX_FRAME_BYTES);
        bytes = payload.length;
        await sleep(200);
        worker.postMessage('reset');
        await sleep(50);
        const start = performance.now();
        attacker.sendPayload(payload);
        const head = await Promise.race([attacker.answer(), sleep(REQUEST_DEADLINE_MS).then(() => Buffer.from('(no answer within 60 s)'))]);
        const trip = performance.now() - start;
        await sleep(20);
        const report = await ask();
        worst = Math.max(worst, report.slowestMs);
        slowestTrip = Math.max(slowestTrip, trip);
        answer = /"code":"([A-Z_]+)"/.exec(head.toString('latin1'))?.[1] ?? (head.includes('"result"') ? 'result' : head.toString('latin1', 0, 40));
        process.stderr.write(`${kind} run ${run + 1}: slowest ping ${report.slowestMs.toFixed(1)} ms (${report.pings} pings), request ${trip.toFixed(0)} ms\n`);
      }
      rows.push({ kind, requestBytes: bytes, answer, worstStallMs: worst, roundTripMs: slowestTrip });
    }
  } finally {
    attacker.close();
    const exited = new Promise((resolve) => worker.once('exit', resolve));
    worker.postMessage('stop');
    await exited;
    await stopChild(child);
    undoKill();
  }
  console.log('| request (at most 16 MiB) | bytes | answer | worst bystander ping | request round trip |');
  console.log('| --- | ---: | --- | ---: | ---: |');
  for (const row of rows) {
    console.log(`| ${row.kind} | ${row.requestBytes} | ${row.answer} | ${row.worstStallMs.toFixed(0)} ms | ${row.roundTripMs.toFixed(0)} ms |`);
  }
}

if (isMainThread) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
} else {
  void bystander((workerData as { url: string }).url);
}
