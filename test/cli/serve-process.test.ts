/**
 * `syncmgr serve` as a process (issue 18 §4, §5): the Unix socket's mode whatever the umask, a
 * warning for a readable key file, logging into a closed pipe, and running out of descriptors.
 * Runs the built bin: `npm run build` first.
 */
import { spawn } from 'node:child_process';
import { chmodSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/client.js';
import { holdIdle, upgradeResponse } from '../helpers/attackers.js';
import { BIN, exitOf, KEY, serve } from '../helpers/cli.js';
import { onCleanup, tempDir } from '../helpers/server.js';
import { until } from '../helpers/until.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Starts `serve` under `sh -c` so that `prelude` (umask, ulimit) applies to it. */
function serveUnder(prelude: string, args: string[]) {
  const child = spawn('sh', ['-c', `${prelude}; exec "$0" "$@"`, process.execPath, BIN, 'serve', ...args], {
    env: { PATH: process.env.PATH, SYNCMGR_AUTHKEY: KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr.on('data', (chunk) => (stderr += chunk));
  const listening = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => resolve(chunk.toString()));
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
  return { child, listening, stderr: () => stderr };
}

describe('syncmgr serve as a process', () => {
  it('makes its Unix socket 0600 under umask 000, or what --socket-mode says', async () => {
    const dir = tempDir();
    const plain = join(dir, 'plain.sock');
    await serveUnder('umask 000', ['--no-tcp', '--socket', plain]).listening;
    expect(statSync(plain).mode & 0o777).toBe(0o600);
    const shared = join(dir, 'shared.sock');
    await serveUnder('umask 000', ['--no-tcp', '--socket', shared, '--socket-mode', '660']).listening;
    expect(statSync(shared).mode & 0o777).toBe(0o660);
  });

  it('warns when --authkey-file is readable by others, and not when it is 0600', async () => {
    const dir = tempDir();
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, KEY);
    chmodSync(keyFile, 0o644);
    const loose = await serve(['--port', '0', '--authkey-file', keyFile], {});
    await until(() => /warning: .*readable by/.test(loose.stderr()));
    loose.child.kill('SIGTERM');
    await exitOf(loose.child);
    chmodSync(keyFile, 0o600);
    const tight = await serve(['--port', '0', '--authkey-file', keyFile], {});
    await sleep(200);
    expect(tight.stderr()).not.toMatch(/readable by/);
  });

  it('takes --ws-allowed-origin more than once', async () => {
    const started = await serve(['--no-tcp', '--ws-port', '0', '--ws-allowed-origin', 'https://a.example', '--ws-allowed-origin', 'https://b.example'], { SYNCMGR_AUTHKEY: KEY });
    const port = Number(/:(\d+)\/$/.exec(started.lines[0]!)![1]);
    expect((await upgradeResponse(port, { Origin: 'https://a.example' })).status).toBe(101);
    expect((await upgradeResponse(port, { Origin: 'https://b.example' })).status).toBe(101);
    expect((await upgradeResponse(port, { Origin: 'https://c.example' })).status).toBe(403);
  });

  it('keeps serving after the reader of its stderr has gone away', async () => {
    const started = await serve(['--port', '0'], { SYNCMGR_AUTHKEY: KEY });
    const port = Number(/:(\d+)$/.exec(started.lines[0]!)![1]);
    started.child.stderr!.destroy();
    for (let i = 0; i < 3; i++) {
      const client = await connect({ host: '127.0.0.1', port, authkey: KEY, heartbeats: false });
      expect(await client.dict('d').incr('n')).toBe(i + 1);
      await client.close();
      await sleep(100);
    }
    expect(started.child.exitCode).toBeNull();
  });

  it('lets a client with the key in within 1 s while idle sockets would use up its file descriptors', { timeout: 20_000 }, async () => {
    const server = serveUnder('ulimit -n 128', ['--port', '0']);
    const port = Number(/:(\d+)\s*$/.exec(await server.listening)![1]);
    // More than the 128 descriptors; each one cut reconnects 100 ms later.
    const attack = holdIdle({ host: '127.0.0.1', port }, 160);
    await until(() => attack.opened >= 160);
    await sleep(1500);
    const client = await connect({ host: '127.0.0.1', port, authkey: KEY, heartbeats: false, connectTimeout: 1 });
    expect(await client.dict('d').incr('n')).toBe(1);
    await client.close();
    attack.stop();
    expect(server.child.exitCode).toBeNull();
  });
});
