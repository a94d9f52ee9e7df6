/**
 * The state replayed from the data directory always equals the live state (issue 18 §1): random
 * sequences of every operation of every type, from several clients (blocking calls left waiting,
 * atomic batches with a failing step, snapshot/restore, sessions ending while holding and waiting,
 * compactions in the middle), checked at intervals: live state == the data directory loaded as it
 * stands == the live dump restored into an empty registry, and after each sequence == the state a
 * restarted server serves.
 *
 * In-process server over loopback (fast). A fixed set of seeds runs by default;
 * SYNCMGR_PROPERTY_SEEDS=N runs N seeds (from SYNCMGR_PROPERTY_SEED_START, default 1), of
 * SYNCMGR_PROPERTY_STEPS steps (default 160). The seed
 * fixes the sequence of requests; their interleaving with the server's timeouts may still vary.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Client, connect } from '../../src/client/client.js';
import { makeDump, restoreDump } from '../../src/persistence/dump.js';
import { loadDataDir } from '../../src/persistence/loader.js';
import { captureAll, toImage } from '../../src/persistence/state.js';
import type { ObjectImage } from '../../src/protocol/dump.js';
import type { Store } from '../../src/persistence/store.js';
import { Registry } from '../../src/server/registry.js';
import type { SyncServer } from '../../src/server/server.js';
import { createServer } from '../../src/server/server.js';
import { random } from '../helpers/random.js';
import { AUTHKEY, tempDir } from '../helpers/server.js';

const DEFAULT_SEEDS = [1, 2, 3];
/** Steps per seed; SYNCMGR_PROPERTY_STEPS=N for longer sequences. */
const STEPS = Number(process.env.SYNCMGR_PROPERTY_STEPS ?? 160);
const CHECK_EVERY = 40;
const CLIENTS = 3;
/** Timeout of the blocking calls that carry one (seconds): short, so they settle between checks. */
const SHORT = 0.03;

const seeds = process.env.SYNCMGR_PROPERTY_SEEDS === undefined
  ? DEFAULT_SEEDS
  : Array.from({ length: Number(process.env.SYNCMGR_PROPERTY_SEEDS) }, (_, i) => Number(process.env.SYNCMGR_PROPERTY_SEED_START ?? 1) + i);

/** Every object, as a dump holds it. */
function imagesOf(registry: Registry): ObjectImage[] {
  return captureAll(registry).map(toImage);
}

interface Actor {
  client: Client;
  /** Tokens this client holds: lock, rlock and condition grants by object name; semaphore permits. */
  locks: Map<string, string>;
  permits: Map<string, string[]>;
}

interface Target {
  type: string;
  name: string;
  init?: Record<string, unknown>;
}

const TARGETS: Record<string, Target[]> = {
  dict: [{ type: 'dict', name: 'd0' }, { type: 'dict', name: 'd1' }],
  list: [{ type: 'list', name: 'l0' }],
  queue: [{ type: 'queue', name: 'q0', init: { maxsize: 3 } }, { type: 'queue', name: 'q1' }],
  lock: [{ type: 'lock', name: 'k0' }],
  rlock: [{ type: 'rlock', name: 'r0' }],
  semaphore: [{ type: 'semaphore', name: 's0', init: { value: 2 } }],
  boundedSemaphore: [{ type: 'boundedSemaphore', name: 'b0', init: { value: 2 } }],
  event: [{ type: 'event', name: 'e0' }],
  condition: [
    { type: 'condition', name: 'c0' },
    { type: 'condition', name: 'c1', init: { lock: 'k0' } },
    // Refused: a condition as its own lock, or over an object that is not a lock.
    { type: 'condition', name: 'c2', init: { lock: 'c2' } },
    { type: 'condition', name: 'c3', init: { lock: 'd0' } },
  ],
  barrier: [{ type: 'barrier', name: 'w0', init: { parties: 2 } }],
};

class Run {
  readonly next: () => number;
  readonly actors: Actor[] = [];
  /** Requests still waiting for their answer (blocking calls); each settles (fulfilled or rejected). */
  readonly pending = new Set<Promise<unknown>>();
  readonly compactions: Array<Promise<unknown>> = [];
  restores = 0;
  log: string[] = [];

  constructor(
    seed: number,
    readonly server: SyncServer,
    readonly port: number,
  ) {
    this.next = random(seed);
  }

  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  value(depth = 0): unknown {
    switch (this.int(depth > 1 ? 5 : 7)) {
      case 0: return this.int(100) - 20;
      case 1: return this.next() * 10;
      case 2: return `s${this.int(50)}`;
      case 3: return this.next() < 0.5;
      case 4: return null;
      case 5: return Array.from({ length: this.int(3) }, () => this.value(depth + 1));
      default: return Object.fromEntries(Array.from({ length: this.int(3) }, () => [`f${this.int(4)}`, this.value(depth + 1)]));
    }
  }

  key(): string {
    return `k${this.int(6)}`;
  }

  async connectActor(): Promise<Actor> {
    const client = await connect({ authkey: AUTHKEY, host: '127.0.0.1', port: this.port });
    return { client, locks: new Map(), permits: new Map() };
  }

  /** Sends one request; blocking ones are left to settle on their own. */
  send(actor: Actor, target: Target, op: string, args: unknown[], blocking = false): Promise<unknown> {
    const answer = actor.client.request({ op, type: target.type, name: target.name, args, ...(target.init !== undefined && { init: target.init }) }, undefined, blocking);
    const settled = answer.then(() => undefined, () => undefined);
    this.pending.add(settled);
    void settled.then(() => this.pending.delete(settled));
    this.log.push(`${target.type} ${target.name}.${op}(${JSON.stringify(args).slice(1, -1)})`);
    return answer;
  }

  /** Runs one random step. */
  async step(): Promise<void> {
    const roll = this.next();
    if (roll < 0.03) {
      // A session ends, holding and waiting as it may be; another client takes its place.
      const index = this.int(this.actors.length);
      this.log.push(`client ${index} closes`);
      await this.actors[index]!.client.close();
      this.actors[index] = await this.connectActor();
      return;
    }
    if (roll < 0.05) {
      this.log.push('compact');
      this.compactions.push((this.server.journal as Store).compact());
      return;
    }
    if (roll < 0.08) {
      await this.snapshotRestore(this.pick(this.actors));
      return;
    }
    const actor = this.pick(this.actors);
    if (roll < 0.16) {
      await this.atomic(actor);
      return;
    }
    const type = this.pick(Object.keys(TARGETS));
    const target = this.pick(TARGETS[type]!);
    await this.operate(actor, target).catch(() => {});
  }

  /** A snapshot of everything, restored under new names (all of it, or a dump that must fail). */
  async snapshotRestore(actor: Actor): Promise<void> {
    const dump = await actor.client.snapshot();
    const prefix = `x${this.restores++}-`;
    // Conditions keep their shared lock's name: a restored condition shares the live lock.
    const objects = dump.objects.filter(() => this.next() < 0.5).map((object) => ({ ...object, name: prefix + object.name }));
    const failing = this.next() < 0.3;
    if (failing) objects.push({ type: 'barrier', name: `${prefix}bad`, init: { parties: 0 }, meta: null, items: null });
    this.log.push(`restore ${objects.length} objects${failing ? ' (failing)' : ''}`);
    await actor.client.restore({ ...dump, objects }).catch(() => {});
  }

  /** A batch of non-blocking writes, sometimes ending with a step that fails. */
  async atomic(actor: Actor): Promise<void> {
    const steps: Array<Target & { op: string; args: unknown[] }> = [];
    for (let i = 0, n = 1 + this.int(4); i < n; i++) {
      const kind = this.int(6);
      const d = this.pick(TARGETS.dict!);
      if (kind === 0) steps.push({ ...d, op: 'set', args: [this.key(), this.value()] });
      else if (kind === 1) steps.push({ ...d, op: 'incr', args: [this.key(), this.int(5)] });
      else if (kind === 2) steps.push({ ...this.pick(TARGETS.list!), op: 'append', args: [this.value()] });
      else if (kind === 3) steps.push({ ...this.pick(TARGETS.queue!), op: 'putNowait', args: [this.value()] });
      else if (kind === 4) steps.push({ ...this.pick(TARGETS.event!), op: this.next() < 0.5 ? 'set' : 'clear', args: [] });
      else steps.push({ ...this.pick(TARGETS.semaphore!), op: 'release', args: [] });
    }
    // Creating an object on the way, and a condition's shared lock.
    if (this.next() < 0.2) steps.push({ type: 'dict', name: `a${this.int(3)}`, op: 'set', args: ['x', this.value()] });
    if (this.next() < 0.4) steps.push({ type: 'dict', name: 'd0', op: 'pop', args: ['missing-key'] });
    this.log.push(`atomic ${JSON.stringify(steps)}`);
    await actor.client.atomic(steps).catch(() => {});
  }

  async operate(actor: Actor, target: Target): Promise<void> {
    const { name } = target;
    const send = (op: string, args: unknown[] = [], blocking = false) => this.send(actor, target, op, args, blocking);
    const timeout = () => (this.next() < 0.7 ? SHORT : null);
    switch (target.type) {
      case 'dict': {
        const ops = [
          () => send('set', [this.key(), this.value()]),
          () => send('delete', [this.key()]),
          () => send('incr', [this.key(), this.int(7) - 2]),
          () => send('pop', [this.key(), null]),
          () => send('setdefault', [this.key(), this.value()]),
          () => send('compareAndSet', [this.key(), this.value(), this.value()]),
          () => send('update', [Object.fromEntries([[this.key(), this.value()], [this.key(), this.value()]])]),
          () => send(this.next() < 0.1 ? 'clear' : 'get', this.next() < 0.1 ? [] : [this.key()]),
        ];
        await this.pick(ops)();
        return;
      }
      case 'list': {
        const ops = [
          () => send('append', [this.value()]),
          () => send('extend', [[this.value(), this.value()]]),
          () => send('insert', [this.int(6) - 2, this.value()]),
          () => send('pop', this.next() < 0.5 ? [] : [this.int(4)]),
          () => send('remove', [this.value()]),
          () => send('set', [this.int(3), this.value()]),
          () => send(this.next() < 0.1 ? 'clear' : 'len'),
        ];
        await this.pick(ops)();
        return;
      }
      case 'queue': {
        const ops = [
          () => send('putNowait', [this.value()]),
          () => void send('put', [this.value(), timeout()], true).catch(() => {}),
          () => send('getNowait'),
          () => void send('get', [timeout()], true).catch(() => {}),
          () => send('taskDone'),
          () => void send('join', [SHORT], true).catch(() => {}),
        ];
        await this.pick(ops)();
        return;
      }
      case 'lock':
      case 'rlock':
      case 'condition': {
        const held = actor.locks.get(name);
        if (held === undefined) {
          // Granted later maybe: the token is remembered whenever it comes.
          const limit = timeout();
          const waiting = send('acquire', [limit], true) as Promise<{ token: string }>;
          void waiting.then((grant) => actor.locks.set(name, grant.token), () => {});
          if (limit !== null) await waiting.catch(() => {});
          return;
        }
        const roll = this.next();
        if (target.type === 'rlock' && roll < 0.2) {
          await send('acquire', [null, held]);
        } else if (target.type === 'condition' && roll < 0.4) {
          if (roll < 0.2) {
            await send('notify', [held, this.int(3)]);
          } else {
            // Released while waiting, held again when it ends.
            void send('wait', [held, SHORT], true).catch(() => {});
          }
        } else {
          actor.locks.delete(name);
          await send('release', [held]);
        }
        return;
      }
      case 'semaphore':
      case 'boundedSemaphore': {
        const permits = actor.permits.get(name) ?? [];
        actor.permits.set(name, permits);
        if (permits.length > 0 && this.next() < 0.5) {
          await send('release', [permits.pop()!]);
        } else if (this.next() < 0.2) {
          await send('release', []);
        } else {
          const waiting = send('acquire', [timeout()], true) as Promise<{ token: string }>;
          void waiting.then((grant) => permits.push(grant.token), () => {});
        }
        return;
      }
      case 'event': {
        const ops = [() => send('set'), () => send('clear'), () => void send('wait', [SHORT], true).catch(() => {})];
        await this.pick(ops)();
        return;
      }
      case 'barrier': {
        const ops = [() => void send('wait', [timeout()], true).catch(() => {}), () => send('reset'), () => send('abort'), () => send('state')];
        await this.pick(ops)();
        return;
      }
      default:
        throw new Error(`no operations for ${target.type}`);
    }
  }

  /** Waits until every call that carries a timeout has settled, every change is on disk, and compactions are done. */
  async quiesce(): Promise<void> {
    await Promise.all(this.compactions.splice(0));
    // Calls without a timeout may wait for ever; the others settle within SHORT.
    await new Promise((resolve) => setTimeout(resolve, SHORT * 1000 + 40));
    const store = this.server.journal as Store;
    for (let i = 0; i < 200; i++) {
      const { appended, durable } = store.counts;
      if (durable === appended) break;
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
  }
}

/** Copies the data directory's files as they are now (in one synchronous step). */
function copyDataDir(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const name of readdirSync(from)) {
    if (name === 'LOCK') continue;
    writeFileSync(join(to, name), readFileSync(join(from, name)));
  }
}

async function check(run: Run, dataDir: string, label: string): Promise<ObjectImage[]> {
  await run.quiesce();
  const store = run.server.journal as Store;
  expect(store.counts.durable, `${label}: everything on disk`).toBe(store.counts.appended);
  // One synchronous step: the live state and the files that must replay to it.
  const dump = makeDump(run.server.registry, 'live');
  const copy = join(tempDir(), 'copy');
  copyDataDir(dataDir, copy);

  const loaded = new Registry();
  const report = await loadDataDir(copy, loaded);
  expect(report.fatal?.message, `${label}: the data directory loads`).toBeUndefined();
  expect(report.torn, `${label}: no torn record`).toBeUndefined();
  expect(imagesOf(loaded), `${label}: loaded from the data directory == live`).toEqual(dump.objects);

  const restored = new Registry();
  restoreDump(restored, JSON.parse(JSON.stringify(dump)));
  expect(imagesOf(restored), `${label}: restored from a dump == live`).toEqual(dump.objects);
  return dump.objects;
}

async function startAt(dataDir: string): Promise<{ server: SyncServer; port: number }> {
  const server = createServer({ authkey: AUTHKEY, host: '127.0.0.1', port: 0, dataDir, fsync: 'always', compactAfterBytes: 2 ** 40 });
  const [endpoint] = await server.listen();
  return { server, port: (endpoint as { port: number }).port };
}

describe('live state == data directory == dump (random operations)', () => {
  it(`holds for seeds ${seeds.length > 5 ? `${seeds[0]}..${seeds.at(-1)}` : seeds.join(', ')}`, async () => {
    const started = performance.now();
    for (const seed of seeds) {
      const dataDir = join(tempDir(), 'data');
      const { server, port } = await startAt(dataDir);
      const run = new Run(seed, server, port);
      let live: ObjectImage[] = [];
      try {
        for (let i = 0; i < CLIENTS; i++) run.actors.push(await run.connectActor());
        for (let step = 1; step <= STEPS; step++) {
          await run.step();
          if (step % CHECK_EVERY === 0) live = await check(run, dataDir, `seed ${seed}, step ${step}`);
        }
        live = await check(run, dataDir, `seed ${seed}, end`);
        for (const actor of run.actors) await actor.client.close();
        await server.close();
      } catch (err) {
        await server.close().catch(() => {});
        (err as Error).message += `\nseed ${seed}; last requests:\n  ${run.log.slice(-15).join('\n  ')}`;
        throw err;
      }
      // Ending every session releases what they held, which images do not hold: a restart serves the same.
      const again = await startAt(dataDir);
      const reloaded = makeDump(again.server.registry, 'again').objects;
      await again.server.close();
      expect(reloaded, `seed ${seed}: after a restart == live`).toEqual(live);
    }
    if (seeds !== DEFAULT_SEEDS) console.log(`property: ${seeds.length} seeds in ${Math.round(performance.now() - started)} ms`);
  }, Math.max(60_000, seeds.length * (STEPS / 160) * 20_000));
});
