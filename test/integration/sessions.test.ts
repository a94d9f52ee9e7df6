/**
 * Sessions across real processes: what a process holds goes back the moment it dies (SIGKILL) or
 * once it has been silent past the session timeout (a stopped process, a half-open connection),
 * and the primitives coordinate separate processes: a barrier, an event, a joinable queue with
 * several producers and consumers, locked read-modify-writes.
 *
 * Workers are test/fixtures/primitives-worker.mjs running the built package (dist/): run
 * `npx tsc -p tsconfig.build.json` first (`npm test` does).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { connect as netConnect } from 'node:net';
import { join, relative } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../../src/client/client.js';
import { DEFAULT_MAX_FRAME_BYTES, HANDSHAKE_MAX_FRAME_BYTES, PROTOCOL_VERSION } from '../../src/protocol/constants.js';
import { clientHandshake } from '../../src/protocol/handshake.js';
import type { Endpoint } from '../../src/transport/address.js';
import { HandshakeReader, PauseReason } from '../../src/transport/channel.js';
import { SocketChannel } from '../../src/transport/socket.js';
import { AUTHKEY, connectTo, onCleanup, startServer, type TestServer } from '../helpers/server.js';
import { until } from '../helpers/until.js';

const ROOT = join(import.meta.dirname, '../..');
const WORKER = join(ROOT, 'test/fixtures/primitives-worker.mjs');

/** Children run dist/: refuse to test a build older than the sources it came from. */
function checkBuildIsFresh(): void {
  const stale: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith('.ts')) {
        const built = join(ROOT, 'dist', relative(ROOT, path)).replace(/\.ts$/, '.js');
        let builtAt = 0;
        try {
          builtAt = statSync(built).mtimeMs;
        } catch {
          // missing: stale
        }
        if (builtAt < statSync(path).mtimeMs) stale.push(relative(ROOT, path));
      }
    }
  };
  walk(join(ROOT, 'src'));
  if (stale.length > 0) {
    throw new Error(`dist/ is older than ${stale.join(', ')}: run \`npx tsc -p tsconfig.build.json\` (npm test does) before this file`);
  }
}

interface Worker {
  child: ChildProcess;
  /** The first message carrying `key`. */
  message(key: string): Promise<any>;
  /** Whether a message carrying `key` has arrived. */
  has(key: string): boolean;
  send(message: unknown): void;
  /** Resolves once the process is gone (and its IPC drained): its exit code and signal. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Forks the worker in `mode`; killed after the file if it is still running. */
function startWorker(mode: string, url: string, env: Record<string, string | number> = {}): Worker {
  const child = fork(WORKER, [], {
    execArgv: [],
    env: { PATH: process.env.PATH ?? '', SYNCMGR_URL: url, MODE: mode, ...Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v)])) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  const messages: any[] = [];
  const waiters: Array<{ key: string; resolve: (message: any) => void }> = [];
  child.on('message', (message: any) => {
    messages.push(message);
    for (const waiter of waiters.filter((w) => w.key in message)) {
      waiters.splice(waiters.indexOf(waiter), 1);
      waiter.resolve(message[waiter.key]);
    }
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    message: (key) =>
      new Promise((resolve, reject) => {
        const seen = messages.find((m) => key in m);
        if (seen) return resolve(seen[key]);
        waiters.push({ key, resolve });
        void exit.then(({ code, signal }) => reject(new Error(`${mode} worker exited (${code ?? signal}) before sending {${key}}`)));
      }),
    has: (key) => messages.some((m) => key in m),
    send: (message) => child.send(message as never),
    exit,
  };
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

let names = 0;
const fresh = (prefix: string): string => `${prefix}-${++names}`;

/** A default server (15 s session timeout: a release seen sooner is due to the close itself). */
let server: TestServer;
let client: Client;

beforeAll(async () => {
  checkBuildIsFresh();
  server = await startServer();
  client = await connectTo(server.tcp);
});

describe('a process that dies', () => {
  it('SIGKILLed holding a lock and a semaphore permit: the waiters (another process, this one) get them within 1 s', { timeout: 20_000 }, async () => {
    const lock = fresh('lock');
    const sem = fresh('sem');
    const lockHolder = startWorker('hold-lock', server.url, { NAME: lock });
    const permitHolder = startWorker('hold-permit', server.url, { NAME: sem, VALUE: 1 });
    const { fence } = await lockHolder.message('ready');
    await permitHolder.message('ready');
    expect(await client.lock(lock).state()).toEqual({ locked: true, fence, waiting: 0 });
    expect(await client.semaphore(sem).state()).toMatchObject({ value: 0, held: 1 });

    const lockWaiter = startWorker('acquire-lock', server.url, { NAME: lock, TIMEOUT: 10 });
    await lockWaiter.message('ready');
    const permit = client.semaphore(sem).acquire({ timeout: 10 });
    await client.ping();
    expect(await client.lock(lock).state()).toMatchObject({ locked: true, waiting: 1 });
    expect(await client.semaphore(sem).state()).toMatchObject({ value: 0, waiting: 1 });

    const killedAt = Date.now();
    lockHolder.child.kill('SIGKILL');
    permitHolder.child.kill('SIGKILL');
    const [acquired, permitHandle] = await Promise.all([
      lockWaiter.message('acquired').then((grant) => ({ ...grant, after: Date.now() - killedAt })),
      permit.then((handle) => ({ handle, after: Date.now() - killedAt })),
    ]);
    expect(acquired.after).toBeLessThan(1000);
    expect(permitHandle.after).toBeLessThan(1000);
    expect(acquired.fence).toBe(fence + 1);
    expect(await lockHolder.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await permitHolder.exit).toEqual({ code: null, signal: 'SIGKILL' });
    expect(await lockWaiter.exit).toEqual({ code: 0, signal: null });
    await permitHandle.handle.release();
    expect(await client.semaphore(sem).state()).toEqual({ value: 1, initial: 1, held: 0, waiting: 0 });
    expect(await client.lock(lock).state()).toMatchObject({ locked: false, waiting: 0 });
  });
});

describe('a peer that stops reading and heartbeating', () => {
  const TIMEOUT_MS = 600;
  let quick: TestServer;
  let waiterClient: Client;

  beforeAll(async () => {
    quick = await startServer({ sessionTimeoutMs: TIMEOUT_MS });
    waiterClient = await connectTo(quick.tcp);
  });

  /**
   * A raw connection: the real handshake and hello over a SocketChannel, then requests by hand.
   * `freeze()` stops it dead: it no longer reads (its socket is paused) nor sends anything, which
   * is what the server sees of a peer behind a dead link or a hung process.
   */
  async function rawSession(endpoint: Extract<Endpoint, { transport: 'tcp' }>) {
    const socket = netConnect({ host: endpoint.host, port: endpoint.port });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const channel = new SocketChannel(socket, 'tcp', HANDSHAKE_MAX_FRAME_BYTES);
    onCleanup(() => channel.destroy());
    await clientHandshake(new HandshakeReader(channel, 3, DEFAULT_MAX_FRAME_BYTES), Buffer.from(AUTHKEY, 'utf8'));
    const inbox: any[] = [];
    let wake: (() => void) | undefined;
    channel.setFrameHandler((payload) => {
      inbox.push(JSON.parse(payload.toString('utf8')));
      wake?.();
    });
    let closed = false;
    channel.onClose(() => {
      closed = true;
      wake?.();
    });
    channel.resumeReading(PauseReason.Handshake);
    const next = async (match: (message: any) => boolean, ms = 5000): Promise<any> => {
      const deadline = Date.now() + ms;
      for (;;) {
        const at = inbox.findIndex(match);
        if (at >= 0) return inbox.splice(at, 1)[0];
        if (closed) throw new Error('raw session: connection closed');
        if (Date.now() > deadline) throw new Error('raw session: no such message in time');
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 20);
        });
      }
    };
    let id = 0;
    let lastSentAt = 0;
    const request = (op: string, fields: Record<string, unknown> = {}, args: unknown[] = []) => {
      const requestId = ++id;
      lastSentAt = Date.now();
      channel.send(JSON.stringify({ id: requestId, op, args, ...fields }));
      return next((message) => message.id === requestId);
    };
    const hello = await request('hello', {}, [{ protocol: PROTOCOL_VERSION, client: 'frozen-test-peer' }]);
    expect(hello.result.sessionTimeoutMs).toBe(TIMEOUT_MS);
    return {
      request,
      next,
      get closed() {
        return closed;
      },
      get lastSentAt() {
        return lastSentAt;
      },
      freeze: () => channel.pauseReading(PauseReason.Backpressure),
      thaw: () => channel.resumeReading(PauseReason.Backpressure),
    };
  }

  it(`a raw connection holding a lock loses it after the session timeout (${TIMEOUT_MS} ms) and a waiter gets it`, { timeout: 20_000 }, async () => {
    const lock = fresh('lock');
    const peer = await rawSession(quick.tcp);
    const grant = await peer.request('acquire', { type: 'lock', name: lock });
    expect(grant.result).toEqual({ token: expect.any(String), fence: 1, depth: 1 });
    peer.freeze();
    const frozenAt = peer.lastSentAt;
    const held = await waiterClient.lock(lock).acquire({ timeout: 10 });
    const silentFor = Date.now() - frozenAt;
    // Not before the peer has been silent for the full session timeout, and not long after.
    expect(silentFor).toBeGreaterThanOrEqual(TIMEOUT_MS);
    expect(silentFor).toBeLessThan(TIMEOUT_MS + 1000);
    expect(held.fence).toBe(2);
    // Once it reads again, the peer learns why, and finds its connection closed by the server.
    peer.thaw();
    const lost = await peer.next((message) => message.event === 'lock-lost');
    expect(lost.data).toEqual({ name: lock, token: grant.result.token, fence: 1, reason: 'session-timeout' });
    await until(() => peer.closed, 5000);
    await held.release();
  });

  it('a process stopped (SIGSTOP) holding a lock loses it after the session timeout, and learns so when continued', { timeout: 20_000 }, async () => {
    const lock = fresh('lock');
    const holder = startWorker('hold-lock-until-lost', quick.url, { NAME: lock });
    const { fence, token } = await holder.message('ready');
    // Held well past the timeout while the process runs: its heartbeats keep the session.
    await sleep(TIMEOUT_MS * 2);
    expect(await waiterClient.lock(lock).state()).toMatchObject({ locked: true, fence });
    holder.child.kill('SIGSTOP');
    const stoppedAt = Date.now();
    try {
      const held = await waiterClient.lock(lock).acquire({ timeout: 10 });
      const after = Date.now() - stoppedAt;
      expect(after).toBeGreaterThanOrEqual(TIMEOUT_MS - TIMEOUT_MS / 3 - 10 - TIMEOUT_MS / 4);
      expect(after).toBeLessThan(TIMEOUT_MS + 1000);
      expect(held.fence).toBe(fence + 1);
      await held.release();
    } finally {
      holder.child.kill('SIGCONT');
    }
    const report = await holder.message('done');
    expect(report).toMatchObject({ lost: true, aborted: true, status: 'closed' });
    // It learned from the server's lock-lost event, before its connection went away.
    expect(report.event).toEqual({
      data: { name: lock, token, fence, reason: 'session-timeout' },
      lostAtEvent: true,
      statusAtEvent: 'ready',
    });
    expect(await holder.exit).toEqual({ code: 0, signal: null });
  });

  it('a server whose own event loop stalls past the session timeout keeps the locks of live clients (their pings wait unread in the sockets)', { timeout: 20_000 }, async () => {
    const lock = fresh('lock');
    // It pings every timeout/4 and never gives up on the server (the reference client's heartbeats
    // would: they time out when the server answers late).
    const holder = startWorker('hold-lock-until-lost', quick.url, { NAME: lock, PINGS_MS: TIMEOUT_MS / 4 });
    const { fence } = await holder.message('ready');
    // Block this process, and so the server, for three session timeouts; the holder keeps
    // sending pings all along, which wait unread in the server's socket.
    const until = Date.now() + 3 * TIMEOUT_MS;
    while (Date.now() < until) {
      // busy
    }
    await sleep(2 * TIMEOUT_MS);
    // (A client in this process gives up on the server during such a stall: its own heartbeat
    // timed out. So look with a new one.)
    const observer = await connectTo(quick.tcp);
    expect(await observer.lock(lock).state()).toEqual({ locked: true, fence, waiting: 0 });
    expect(holder.has('done')).toBe(false);
    holder.send('release');
    expect(await holder.message('done')).toEqual({ lost: false, owned: true });
    expect(await holder.exit).toEqual({ code: 0, signal: null });
  });
});

describe('primitives across processes', () => {
  it('a barrier of 4 holds 3 processes until the 4th arrives, then gives each a distinct index 0..3', { timeout: 20_000 }, async () => {
    const barrier = fresh('barrier');
    const early = [0, 1, 2].map(() => startWorker('barrier', server.url, { NAME: barrier, PARTIES: 4 }));
    for (const worker of early) await worker.message('ready');
    expect(await client.barrier(barrier).state()).toEqual({ parties: 4, waiting: 3, broken: false });
    await sleep(100);
    expect(early.some((worker) => worker.has('done'))).toBe(false);
    const last = startWorker('barrier', server.url, { NAME: barrier, PARTIES: 4 });
    const workers = [...early, last];
    const indices = await Promise.all(workers.map((worker) => worker.message('done').then((done) => done.index as number)));
    expect([...indices].sort()).toEqual([0, 1, 2, 3]);
    expect(indices[3]).toBe(3); // the last to arrive
    for (const worker of workers) expect(await worker.exit).toEqual({ code: 0, signal: null });
    expect(await client.barrier(barrier).state()).toEqual({ parties: 4, waiting: 0, broken: false });
  });

  it('an event set by one process wakes the processes waiting on it, and not before', { timeout: 20_000 }, async () => {
    const event = fresh('event');
    const waiters = [0, 1, 2].map(() => startWorker('event-wait', server.url, { NAME: event }));
    const setter = startWorker('event-set', server.url, { NAME: event });
    await Promise.all([...waiters, setter].map((worker) => worker.message('ready')));
    await sleep(100);
    expect(waiters.some((worker) => worker.has('done'))).toBe(false);
    expect(await client.event(event).isSet()).toBe(false);
    setter.send('set');
    const { at: setAt } = await setter.message('done');
    const woken = await Promise.all(waiters.map((worker) => worker.message('done')));
    for (const report of woken) {
      expect(report.woke).toBe(true);
      expect(report.at).toBeGreaterThanOrEqual(setAt - 50);
    }
    for (const worker of [...waiters, setter]) expect(await worker.exit).toEqual({ code: 0, signal: null });
  });

  it('a queue fed by 2 producers and drained by 3 consumers delivers each of 10,000 ids exactly once; join waits for the last taskDone', { timeout: 40_000 }, async () => {
    const queueName = fresh('queue');
    const PER_PRODUCER = 5_000;
    const queue = client.queue<number | string | null>(queueName, { maxsize: 100 });
    // One item of our own, taken and not yet done, keeps join waiting until we say so at the end.
    await queue.put('guard');
    expect(await queue.get({ timeout: 0 })).toBe('guard');

    const joiner = startWorker('joiner', server.url, { NAME: queueName });
    await joiner.message('ready');
    const consumers = [0, 1, 2].map(() => startWorker('consumer', server.url, { NAME: queueName }));
    await Promise.all(consumers.map((worker) => worker.message('ready')));
    expect((await queue.state()).getters).toBe(3);
    const producers = [0, 1].map((p) =>
      startWorker('producer', server.url, { NAME: queueName, MAXSIZE: 100, START: p * PER_PRODUCER, COUNT: PER_PRODUCER, WINDOW: 16 }),
    );
    for (const producer of producers) {
      expect(await producer.message('done')).toEqual({ put: PER_PRODUCER });
      expect(await producer.exit).toEqual({ code: 0, signal: null });
    }
    // One end marker per consumer.
    for (let i = 0; i < consumers.length; i++) await queue.put(null);
    const received = await Promise.all(consumers.map((worker) => worker.message('done').then((done) => done.ids as number[])));
    for (const worker of consumers) expect(await worker.exit).toEqual({ code: 0, signal: null });

    const all = received.flat();
    expect(all.length).toBe(2 * PER_PRODUCER);
    expect(new Set(all).size).toBe(2 * PER_PRODUCER);
    expect(all.every((id) => Number.isInteger(id) && id >= 0 && id < 2 * PER_PRODUCER)).toBe(true);
    for (const ids of received) expect(ids.length).toBeGreaterThan(0);
    // Each producer's ids reach each consumer in the order that producer put them (FIFO queue).
    for (const ids of received) {
      for (const p of [0, 1]) {
        const mine = ids.filter((id) => Math.floor(id / PER_PRODUCER) === p);
        expect(mine).toEqual([...mine].sort((x, y) => x - y));
      }
    }

    // Every consumer has marked its items done; only our guard is unfinished, so join still waits.
    expect(await queue.state()).toEqual({ size: 0, maxsize: 100, unfinished: 1, getters: 0, putters: 0 });
    await sleep(100);
    expect(joiner.has('done')).toBe(false);
    await queue.taskDone();
    expect(await joiner.message('done')).toEqual({
      joined: true,
      state: { size: 0, maxsize: 100, unfinished: 0, getters: 0, putters: 0 },
    });
    expect(await joiner.exit).toEqual({ code: 0, signal: null });
  });

  it('4 processes × 500 locked read-modify-writes end at exactly 2,000, with every fence granted once', { timeout: 40_000 }, async () => {
    const WORKERS = 4;
    const ROUNDS = 500;
    const lock = fresh('lock');
    const dict = fresh('dict');
    const workers = Array.from({ length: WORKERS }, () => startWorker('rmw', server.url, { NAME: lock, DICT: dict, KEY: 'n', ROUNDS }));
    await Promise.all(workers.map((worker) => worker.message('ready')));
    for (const worker of workers) worker.send('go');
    const fences = await Promise.all(workers.map((worker) => worker.message('done').then((done) => done.fences as number[])));
    for (const worker of workers) expect(await worker.exit).toEqual({ code: 0, signal: null });
    expect(await client.dict(dict).get('n')).toBe(WORKERS * ROUNDS);
    const all = fences.flat().sort((x, y) => x - y);
    expect(all).toEqual(Array.from({ length: WORKERS * ROUNDS }, (_, i) => i + 1));
    for (const mine of fences) expect(mine).toEqual([...mine].sort((x, y) => x - y));
    expect(await client.lock(lock).state()).toEqual({ locked: false, fence: WORKERS * ROUNDS, waiting: 0 });
  });
});
