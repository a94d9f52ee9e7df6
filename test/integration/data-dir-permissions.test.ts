/**
 * The data directory holds every stored value: it is 0700 and its files 0600 whatever the umask of
 * the server (issue 18 §5). Real `syncmgr serve` children started under umask 000 and 022.
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/client.js';
import { checkDataDir } from '../../src/persistence/check.js';
import { BIN, KEY } from '../helpers/cli.js';
import { onCleanup, tempDir } from '../helpers/server.js';
import { until } from '../helpers/until.js';

/** Runs `syncmgr serve` under `umask` through a shell; resolves with its port once it listens. */
function serveUnder(umask: string, dataDir: string): Promise<{ port: number; stop: () => Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `umask ${umask} && exec "$0" "$@"`, process.execPath, BIN, 'serve', '--port', '0', '--quiet',
      '--data-dir', dataDir, '--fsync', 'always', '--compact-after', '1'], { env: { PATH: process.env.PATH, SYNCMGR_AUTHKEY: KEY }, stdio: ['ignore', 'pipe', 'pipe'] });
    onCleanup(() => {
      if (child.exitCode === null) child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening on tcp:\/\/[^:]+:(\d+)/.exec(chunk.toString());
      if (match === null) return;
      resolve({
        port: Number(match[1]),
        stop: () => new Promise((done) => {
          child.once('exit', (code) => done(code));
          child.kill('SIGTERM');
        }),
      });
    });
    child.on('exit', (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

/** Every entry of `dir` with its permission bits, the directory itself as '.'. */
function modes(dir: string): Record<string, string> {
  const found: Record<string, string> = { '.': (statSync(dir).mode & 0o777).toString(8) };
  for (const name of readdirSync(dir)) {
    // A running server's compaction may remove a segment between the listing and its stat.
    const stat = statSync(join(dir, name), { throwIfNoEntry: false });
    if (stat !== undefined) found[name] = (stat.mode & 0o777).toString(8);
  }
  return found;
}

describe('data directory permissions', () => {
  for (const umask of ['000', '022']) {
    it(`are 0700 for the directory and 0600 for every file under umask ${umask}`, async () => {
      const dataDir = join(tempDir(), 'data');
      const server = await serveUnder(umask, dataDir);
      const client = await connect({ authkey: KEY, host: '127.0.0.1', port: server.port });
      for (let i = 0; i < 20; i++) await client.dict('d').set(`k${i}`, i);
      // --compact-after 1: a snapshot follows the writes.
      await until(() => readdirSync(dataDir).some((name) => name.endsWith('.snap')), 5000);
      const running = modes(dataDir);
      await client.close();
      expect(await server.stop()).toBe(0);
      expect(Object.keys(running)).toEqual(expect.arrayContaining(['.', 'LOCK']));
      expect(Object.keys(running).some((name) => name.endsWith('.aof'))).toBe(true);
      for (const [name, mode] of [...Object.entries(running), ...Object.entries(modes(dataDir))]) {
        expect({ name, mode }).toEqual({ name, mode: name === '.' ? '700' : '600' });
      }
    });
  }

  it('tightens a directory and files left readable by an older version, and check --repair keeps its copies private', async () => {
    const dataDir = join(tempDir(), 'data');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    // A log whose last record is torn: repair cuts it and keeps the bytes aside.
    const torn = Buffer.from([0, 0, 0, 100, 1, 2, 3, 4, 5]);
    writeFileSync(join(dataDir, 'log-0000000001.aof'), torn, { mode: 0o644 });
    chmodSync(join(dataDir, 'log-0000000001.aof'), 0o644);
    await checkDataDir(dataDir, true);
    for (const [name, mode] of Object.entries(modes(dataDir))) expect({ name, mode }).toEqual({ name, mode: name === '.' ? '700' : '600' });
  });

  it("never changes the modes of files that are not syncmgr's, nor of a directory that holds them", async () => {
    const dataDir = join(tempDir(), 'home');
    mkdirSync(dataDir, { mode: 0o755 });
    chmodSync(dataDir, 0o755);
    writeFileSync(join(dataDir, 'run.sh'), '#!/bin/sh\n', { mode: 0o755 });
    chmodSync(join(dataDir, 'run.sh'), 0o755);
    writeFileSync(join(dataDir, 'notes.txt'), 'x', { mode: 0o400 });
    chmodSync(join(dataDir, 'notes.txt'), 0o400);
    writeFileSync(join(dataDir, 'log-0000000001.aof'), '', { mode: 0o644 });
    chmodSync(join(dataDir, 'log-0000000001.aof'), 0o644);
    const warnings: string[] = [];
    await checkDataDir(dataDir, true, (line) => warnings.push(line));
    expect(modes(dataDir)).toMatchObject({ '.': '755', 'run.sh': '755', 'notes.txt': '400', 'log-0000000001.aof': '600' });
    expect(warnings.join('\n')).toMatch(/holds other files/);
  });
});
