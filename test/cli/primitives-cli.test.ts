/** `syncmgr lock`, `queue` and `event` end to end through the real bin. */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../src/client/client.js';
import { BIN, exitOf, KEY, run, serve } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';
import { until } from '../helpers/until.js';

describe('syncmgr lock, queue and event', () => {
  let env: Record<string, string>;
  /** Watches the server's objects: a command is known to wait once the server counts it waiting. */
  let observer: Client;

  beforeAll(async () => {
    const { lines } = await serve(['--port', '0', '--quiet'], { SYNCMGR_AUTHKEY: KEY });
    env = { SYNCMGR_URL: `tcp://:${KEY}@127.0.0.1:${/:(\d+)$/.exec(lines[0]!)![1]}` };
    observer = await connect({ url: env.SYNCMGR_URL });
  });

  afterAll(() => observer.close());

  it('runs the command holding the lock and passes its exit status through', async () => {
    const result = await run(['lock', 'build', '--', 'sh', '-c', 'echo "fence=$SYNCMGR_LOCK_FENCE"; exit 7'], env);
    expect(result.code).toBe(7);
    expect(result.stdout).toMatch(/^fence=\d+\n$/);
  });

  it('passes the command its own flags after --', async () => {
    expect(await run(['lock', 'build', '--', 'ls', '-d', '/'], env)).toMatchObject({ code: 0, stdout: '/\n' });
  });

  it('runs two commands for the same lock one after the other, never interleaved', async () => {
    const log = join(tempDir(), 'log');
    const section = (tag: string) => ['lock', 'serial', '--', 'sh', '-c', `echo start-${tag} >> ${log}; sleep 0.3; echo end-${tag} >> ${log}`];
    const results = await Promise.all([run(section('a'), env), run(section('b'), env)]);
    expect(results.map((r) => r.code)).toEqual([0, 0]);
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines[0]!.replace('start-', 'end-')).toBe(lines[1]);
    expect(lines[2]!.replace('start-', 'end-')).toBe(lines[3]);
  });

  it('exits non-zero with a clear message when the lock is not acquired in time', async () => {
    // The holder keeps the lock until told to let go, however slowly the other commands start.
    const dir = tempDir();
    const [started, letGo] = [join(dir, 'started'), join(dir, 'let-go')];
    const holder = spawn(process.execPath, [BIN, 'lock', 'busy', '--', 'sh', '-c', `touch ${started}; while [ ! -e ${letGo} ]; do sleep 0.05; done`], {
      env: { PATH: process.env.PATH, ...env },
      stdio: 'ignore',
    });
    await until(() => existsSync(started), 10_000);
    const result = await run(['lock', 'busy', '--timeout', '0.2', '--', 'echo', 'never'], env);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(/^syncmgr: .*\[TIMEOUT\]\n$/);
    expect((await run(['lock', 'busy', '--timeout', '0.2', '--conflict-exit-code', '75', '--', 'true'], env)).code).toBe(75);
    writeFileSync(letGo, '');
    expect(await exitOf(holder)).toBe(0);
  });

  it('forwards SIGTERM to the command, releases the lock and exits 128 + the signal', async () => {
    const started = join(tempDir(), 'started');
    const holder = spawn(process.execPath, [BIN, 'lock', 'signalled', '--', 'sh', '-c', `touch ${started}; exec sleep 10`], {
      env: { PATH: process.env.PATH, ...env },
      stdio: 'ignore',
    });
    await until(() => existsSync(started), 10_000);
    const exited = exitOf(holder);
    holder.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(await run(['lock', 'signalled', '--timeout', '1', '--', 'true'], env)).toMatchObject({ code: 0 });
  });

  it('gives up waiting on SIGTERM before the command starts, and exits 128 + the signal', async () => {
    const started = join(tempDir(), 'started');
    const holder = spawn(process.execPath, [BIN, 'lock', 'contended', '--', 'sh', '-c', `touch ${started}; exec sleep 10`], {
      env: { PATH: process.env.PATH, ...env },
      stdio: 'ignore',
    });
    await until(() => existsSync(started), 10_000);
    const waiter = spawn(process.execPath, [BIN, 'lock', 'contended', '--', 'true'], { env: { PATH: process.env.PATH, ...env }, stdio: 'ignore' });
    await until(async () => (await observer.lock('contended').state()).waiting === 1, 10_000);
    const waiterExit = exitOf(waiter);
    waiter.kill('SIGTERM');
    expect(await waiterExit).toBe(143);
    const holderExit = exitOf(holder);
    holder.kill('SIGTERM');
    expect(await holderExit).toBe(143);
  });

  it('reports a command that cannot be started with status 127', async () => {
    const result = await run(['lock', 'x', '--', 'no-such-command-here'], env);
    expect(result.code).toBe(127);
    expect(result.stderr).toMatch(/ENOENT/);
  });

  it('puts and gets queue items as JSON, and fails with QUEUE_EMPTY after the timeout', async () => {
    expect((await run(['queue', 'put', 'jobs', '{"n":1}'], env)).code).toBe(0);
    expect((await run(['queue', 'put', 'jobs', 'plain text'], env)).code).toBe(0);
    expect(await run(['queue', 'get', 'jobs'], env)).toMatchObject({ code: 0, stdout: '{"n":1}\n' });
    expect(await run(['queue', 'get', 'jobs', '--raw'], env)).toMatchObject({ code: 0, stdout: 'plain text\n' });
    const empty = await run(['queue', 'get', 'jobs', '--timeout', '0.2'], env);
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/\[QUEUE_EMPTY\]\n$/);
  });

  it('blocks in queue get until another process puts', async () => {
    const getter = run(['queue', 'get', 'later', '--timeout', '5'], env);
    await until(async () => (await observer.queue('later').state()).getters === 1, 10_000);
    await run(['queue', 'put', 'later', '42'], env);
    expect(await getter).toMatchObject({ code: 0, stdout: '42\n' });
  });

  it('waits for an event set by another process, and exits 1 when the timeout passes first', async () => {
    const timedOut = await run(['event', 'wait', 'go', '--timeout', '0.2'], env);
    expect(timedOut.code).toBe(1);
    expect(timedOut.stderr).toMatch(/\[TIMEOUT\]\n$/);
    const waiter = run(['event', 'wait', 'go', '--timeout', '5'], env);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect((await run(['event', 'set', 'go'], env)).code).toBe(0);
    expect((await waiter).code).toBe(0);
    expect((await run(['event', 'clear', 'go'], env)).code).toBe(0);
    expect((await run(['event', 'wait', 'go', '--timeout', '0.1'], env)).code).toBe(1);
  });
});
