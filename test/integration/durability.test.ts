/**
 * Durability against real crashes: a real `syncmgr serve --data-dir` child is SIGKILLed while
 * worker processes increment flat out, restarted on the same port and directory, and what the
 * workers were told is checked against what survived. Also: damaged files, a directory in use,
 * `syncmgr check`, and `dump --out` / `restore` through the CLI.
 */
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/client.js';
import { segmentName } from '../../src/persistence/files.js';
import { RecordDecoder } from '../../src/persistence/record.js';
import { BIN, KEY, run } from '../helpers/cli.js';
import { onCleanup, tempDir } from '../helpers/server.js';

const ENV = { SYNCMGR_AUTHKEY: KEY };
const WORKER = join(import.meta.dirname, '../fixtures/durability-worker.mjs');
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Served {
  child: ChildProcess;
  port: number;
  stderr: () => string;
}

/** Starts `syncmgr serve` on `port` (0: any) and resolves once it listens. */
function serve(port: number, args: string[]): Promise<Served> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, 'serve', '--port', String(port), '--quiet', ...args], {
      env: { PATH: process.env.PATH, ...ENV },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onCleanup(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr += chunk));
    child.stdout!.on('data', (chunk: Buffer) => {
      const match = /listening on tcp:\/\/[^:]+:(\d+)/.exec(chunk.toString());
      if (match !== null) resolve({ child, port: Number(match[1]), stderr: () => stderr });
    });
    child.once('exit', (code, signal) => reject(new Error(`serve exited (${signal ?? code}): ${stderr}`)));
  });
}

/** Runs `serve` expecting it to refuse to start; resolves with its exit code and stderr. */
function serveRefused(args: string[]): Promise<{ code: number | null; stderr: string }> {
  return run(['serve', '--port', '0', '--quiet', ...args], ENV).then(({ code, stderr }) => ({ code, stderr }));
}

function exited(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((resolve) => child.once('exit', () => resolve()));
}

async function kill(served: Served): Promise<void> {
  served.child.kill('SIGKILL');
  await exited(served.child);
}

async function stop(served: Served): Promise<void> {
  served.child.kill('SIGTERM');
  await exited(served.child);
}

async function client(port: number) {
  const connected = await connect({ port, authkey: KEY });
  onCleanup(() => connected.close());
  return connected;
}

interface WorkerResult {
  acked: number;
  unknown: number;
  other: string[];
}

function startWorker(port: number, key: string, lanes: number): { ready: Promise<void>; stop(): Promise<WorkerResult> } {
  const child = fork(WORKER, [], {
    env: { PATH: process.env.PATH, SYNCMGR_URL: `tcp://:${KEY}@127.0.0.1:${port}`, KEY: key, LANES: String(lanes) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const ready = new Promise<void>((resolve) => child.once('message', () => resolve()));
  return {
    ready,
    stop: () => new Promise<WorkerResult>((resolve) => {
      child.once('message', (result) => resolve(result as WorkerResult));
      child.send('stop');
    }),
  };
}

/**
 * Workers increment `key` while the server is SIGKILLed `kills` times and restarted; returns what
 * the workers counted and the value that survived.
 */
async function crashLoop(fsync: string, kills: number, extra: string[] = []) {
  const dir = tempDir();
  const args = ['--data-dir', dir, '--fsync', fsync, ...extra];
  let server = await serve(0, args);
  const { port } = server;
  const workers = Array.from({ length: 3 }, () => startWorker(port, 'n', 8));
  await Promise.all(workers.map((worker) => worker.ready));
  const started = Date.now();
  for (let i = 0; i < kills; i++) {
    await sleep(300 + Math.random() * 400);
    await kill(server);
    server = await serve(port, args);
  }
  await sleep(300);
  const results = await Promise.all(workers.map((worker) => worker.stop()));
  const seconds = (Date.now() - started) / 1000;
  const value = (await (await client(port)).dict('durability').get('n')) as number;
  await stop(server);
  const acked = results.reduce((sum, result) => sum + result.acked, 0);
  const unknown = results.reduce((sum, result) => sum + result.unknown, 0);
  return { acked, unknown, value, seconds, other: results.flatMap((result) => result.other), dir, stderr: server.stderr() };
}

describe('crashes (SIGKILL)', () => {
  it('fsync always: nothing acknowledged is lost, nothing unsent appears, over repeated kills', { timeout: 60_000 }, async () => {
    // A small compaction threshold, so kills also land in the middle of compactions.
    const { acked, unknown, value, other } = await crashLoop('always', 5, ['--compact-after', '32k']);
    expect(other).toEqual([]);
    expect(acked).toBeGreaterThan(500);
    expect(value).toBeGreaterThanOrEqual(acked);
    expect(value).toBeLessThanOrEqual(acked + unknown);
  });

  it('fsync everysec: a kill loses at most about one second of acknowledged increments', { timeout: 60_000 }, async () => {
    const { acked, unknown, value, seconds, other } = await crashLoop('everysec', 3);
    expect(other).toEqual([]);
    const perSecond = acked / seconds;
    // SIGKILL leaves the page cache intact: the loss is what had not been handed to the OS yet.
    expect(acked - value).toBeLessThanOrEqual(perSecond * 1.0);
    expect(value).toBeLessThanOrEqual(acked + unknown);
  });
});

describe('damaged and unusual data directories', () => {
  /** A directory with a few records: n = 5 after five separate requests, plus one list. */
  async function populated(): Promise<{ dir: string; log: string }> {
    const dir = tempDir();
    const server = await serve(0, ['--data-dir', dir, '--fsync', 'always']);
    const connected = await client(server.port);
    for (let i = 0; i < 5; i++) await connected.dict('durability').incr('n');
    await connected.list('l').append('x');
    await kill(server);
    return { dir, log: join(dir, segmentName(1)) };
  }

  it('starts after a torn last record, dropping it with a warning and a copy; check reports it and --repair truncates it', async () => {
    const { dir, log } = await populated();
    // Where the records end (under --fsync always, preallocated zeros follow them).
    const decoder = new RecordDecoder();
    decoder.push(readFileSync(log));
    const good = decoder.offset;
    expect(statSync(log).size).toBeGreaterThan(good);
    // A header promising 64 bytes, and the first 15 of them: the process died mid-write.
    writeFileSync(log, Buffer.concat([readFileSync(log).subarray(0, good), Buffer.from('0000004011223344', 'hex'), Buffer.from('[["dset","durab')]));
    const checked = await run(['check', '--data-dir', dir], ENV);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain(`TORN at offset ${good}`);
    const server = await serve(0, ['--data-dir', dir]);
    expect(server.stderr()).toContain(`${log}: dropped a torn record at offset ${good}`);
    // What was dropped is kept next to the log.
    expect(readFileSync(`${log}.dropped-${good}`).subarray(0, 23)).toEqual(Buffer.concat([Buffer.from('0000004011223344', 'hex'), Buffer.from('[["dset","durab')]));
    expect(await (await client(server.port)).dict('durability').get('n')).toBe(5);
    await stop(server);
    // The server truncated it at start: nothing left to repair.
    expect((await run(['check', '--data-dir', dir], ENV)).code).toBe(0);
  });

  it('refuses to start on a flipped byte in the middle, naming file and offset; check --repair truncates there', async () => {
    const { dir, log } = await populated();
    const bytes = readFileSync(log);
    const second = 8 + bytes.readUInt32BE(0);
    bytes[second + 10] ^= 0x01;
    writeFileSync(log, bytes);
    const refused = await serveRefused(['--data-dir', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${log} is corrupt at offset ${second}`);
    expect(refused.stderr).toContain('[DATA_CORRUPT]');
    expect(refused.stderr).toContain('--repair');
    const checked = await run(['check', '--data-dir', dir], ENV);
    expect(checked.code).toBe(1);
    expect(checked.stdout).toContain(`CORRUPT at offset ${second}`);
    const repaired = await run(['check', '--data-dir', dir, '--repair'], ENV);
    expect(repaired.code).toBe(0);
    expect(repaired.stdout).toContain(`truncated ${log} to ${second} bytes`);
    expect(statSync(log).size).toBe(second);
    expect(existsSync(`${log}.damaged-${second}`)).toBe(true);
    const server = await serve(0, ['--data-dir', dir]);
    expect(await (await client(server.port)).dict('durability').get('n')).toBe(1); // only the first record remains
    await stop(server);
  });

  it('refuses to start when the snapshot the log continues from is missing', async () => {
    const dir = tempDir();
    const server = await serve(0, ['--data-dir', dir, '--compact-after', '1k']);
    const connected = await client(server.port);
    for (let i = 0; i < 200; i++) await connected.dict('d').set(`k${i}`, 'x'.repeat(20));
    await sleep(300);
    await stop(server);
    const snapshot = readdirSync(dir).find((name) => name.endsWith('.snap'));
    expect(snapshot).toBeDefined();
    unlinkSync(join(dir, snapshot!));
    const refused = await serveRefused(['--data-dir', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`${snapshot} is missing`);
  });

  it('starts on an empty directory and on one that does not exist yet', async () => {
    for (const dir of [tempDir(), join(tempDir(), 'new', 'nested')]) {
      const first = await serve(0, ['--data-dir', dir]);
      await (await client(first.port)).dict('d').set('k', 'v');
      await stop(first);
      const second = await serve(0, ['--data-dir', dir]);
      expect(await (await client(second.port)).dict('d').get('k')).toBe('v');
      await stop(second);
    }
  });

  it('refuses a directory another server is using, naming its pid', async () => {
    const dir = tempDir();
    const first = await serve(0, ['--data-dir', dir]);
    const refused = await serveRefused(['--data-dir', dir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`is in use by process ${first.child.pid}`);
    expect(refused.stderr).toContain('[DATA_DIR_LOCKED]');
    const checked = await run(['check', '--data-dir', dir], ENV);
    expect(checked.stderr).toContain('[DATA_DIR_LOCKED]');
    await stop(first);
  });

  it('rejects --fsync without --data-dir, and an unknown policy', async () => {
    expect((await serveRefused(['--fsync', 'always'])).code).toBe(2);
    const dir = tempDir();
    mkdirSync(dir, { recursive: true });
    expect((await serveRefused(['--data-dir', dir, '--fsync', 'sometimes'])).code).toBe(2);
  });
});

describe('dump --out and restore', () => {
  it('round-trips every object through a file, and dump without --out still prints one dict', async () => {
    const source = await serve(0, []);
    const connected = await client(source.port);
    await connected.dict('default').update({ a: 1, b: [1, 2] });
    await connected.list('l').extend(['x', 'y']);
    await connected.queue('q').put({ job: 1 });
    await connected.event('e').set();
    await connected.semaphore('s', 3).state();
    const url = ['--port', String(source.port)];
    const file = join(tempDir(), 'dump.json');
    const dumped = await run(['dump', '--out', file, ...url], ENV);
    expect(dumped.code).toBe(0);
    expect(dumped.stdout).toContain('dumped 5 objects');
    expect(JSON.parse((await run(['dump', ...url], ENV)).stdout)).toEqual({ a: 1, b: [1, 2] });

    const targetDir = tempDir();
    const target = await serve(0, ['--data-dir', targetDir]);
    const restored = await run(['restore', file, '--port', String(target.port)], ENV);
    expect(restored.code).toBe(0);
    expect(restored.stdout).toContain('restored 5 objects');
    const again = join(tempDir(), 'again.json');
    await run(['dump', '--out', again, '--port', String(target.port)], ENV);
    expect(JSON.parse(readFileSync(again, 'utf8')).objects).toEqual(JSON.parse(readFileSync(file, 'utf8')).objects);
    // Restoring twice would overwrite: refused, and nothing changes.
    const twice = await run(['restore', file, '--port', String(target.port)], ENV);
    expect(twice.code).toBe(1);
    expect(twice.stderr).toContain('[INVALID_ARGUMENT]');
    // The restore was journaled: it survives a restart of the target.
    await kill(target);
    const restarted = await serve(target.port, ['--data-dir', targetDir]);
    expect(await (await client(restarted.port)).list('l').slice()).toEqual(['x', 'y']);
    await stop(restarted);
    await stop(source);
  });

  it('refuses a dump larger than the target takes in one frame, naming the --max-frame that would, and restores with it', async () => {
    const source = await serve(0, []);
    const connected = await client(source.port);
    await connected.dict('big').update(Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`key-${i}`, 'x'.repeat(40)])));
    const file = join(tempDir(), 'big.json');
    expect((await run(['dump', '--out', file, '--port', String(source.port)], ENV)).code).toBe(0);

    const small = await serve(0, ['--max-frame', '4096']);
    const refused = await run(['restore', file, '--port', String(small.port)], ENV);
    expect(refused.code).toBe(1);
    const advice = /over the 4096 bytes the server accepts in one frame: restart it with --max-frame (\d+) or more for the restore \(nothing was restored\) \[FRAME_TOO_LARGE\]/.exec(refused.stderr);
    // (Had the client sent it, the server would have closed the connection: CONNECTION_CLOSED.)
    expect(advice, refused.stderr).not.toBeNull();

    const roomy = await serve(0, ['--max-frame', advice![1]!]);
    const restored = await run(['restore', file, '--port', String(roomy.port)], ENV);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await (await client(roomy.port)).dict('big').size()).toBe(200);
    await Promise.all([stop(source), stop(small), stop(roomy)]);
  });
});
