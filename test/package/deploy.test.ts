/**
 * examples/deploy: the systemd unit passes `systemd-analyze verify` (an unknown key only warns, so
 * any output fails too), and the Dockerfile keeps its promises: node:20-slim, a non-root user, the
 * data directory a volume, the key from a file. Where a docker daemon answers, the image is built.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

const ROOT = join(import.meta.dirname, '../..');
const DEPLOY = join(ROOT, 'examples/deploy');
const hasSystemdAnalyze = spawnSync('systemd-analyze', ['--version']).status === 0;
const hasDocker = spawnSync('docker', ['info'], { stdio: 'ignore' }).status === 0;

describe('examples/deploy', () => {
  it.skipIf(!hasSystemdAnalyze)('the systemd unit verifies without a warning', async () => {
    // verify insists that ExecStart's program exists: point it at this checkout's bin.
    const unit = readFileSync(join(DEPLOY, 'syncmgr.service'), 'utf8');
    expect(unit).toContain('ExecStart=/usr/local/bin/syncmgr serve ');
    const copy = join(tempDir(), 'syncmgr.service');
    writeFileSync(copy, unit.replace('/usr/local/bin/syncmgr', BIN));
    const result = await runProcess('systemd-analyze', ['verify', copy]);
    expect(result.stdout + result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  it('the unit takes the key from a credential file and keeps data in its state directory', () => {
    const unit = readFileSync(join(DEPLOY, 'syncmgr.service'), 'utf8');
    expect(unit).toMatch(/^LoadCredential=authkey:/m);
    expect(unit).toMatch(/--authkey-file \$\{CREDENTIALS_DIRECTORY\}\/authkey/);
    expect(unit).toMatch(/^StateDirectory=syncmgr$/m);
    expect(unit).toMatch(/--data-dir \$\{STATE_DIRECTORY\}/);
    expect(unit).not.toMatch(/--authkey /);
  });

  it('the Dockerfile: node:20-slim, non-root, a data volume, the key from a file', () => {
    const dockerfile = readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
    const instructions = dockerfile.split('\n').filter((line) => /^[A-Z]+ /.test(line));
    expect(instructions[0]).toBe('FROM node:20-slim');
    const user = instructions.filter((line) => line.startsWith('USER '));
    expect(user).toHaveLength(1);
    expect(user[0]).not.toMatch(/root|\b0\b/);
    expect(instructions.indexOf(user[0]!)).toBeLessThan(instructions.findIndex((line) => line.startsWith('ENTRYPOINT ')));
    expect(instructions).toContain('VOLUME /var/lib/syncmgr');
    const entrypoint = JSON.parse(instructions.find((line) => line.startsWith('ENTRYPOINT '))!.slice('ENTRYPOINT '.length)) as string[];
    expect(entrypoint.slice(0, 2)).toEqual(['syncmgr', 'serve']);
    expect(entrypoint[entrypoint.indexOf('--authkey-file') + 1]).toBe('/run/secrets/syncmgr_authkey');
    expect(entrypoint[entrypoint.indexOf('--data-dir') + 1]).toBe('/var/lib/syncmgr');
    expect(entrypoint).not.toContain('--authkey');
  });

  it.skipIf(!hasDocker)('the image builds', () => {
    const out = tempDir();
    const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--pack-destination', out], { cwd: ROOT, encoding: 'utf8' });
    expect(packed.status).toBe(0);
    // The build context is the directory holding the tarball (as the repository root after npm pack).
    const build = spawnSync('docker', ['build', '-f', join(DEPLOY, 'Dockerfile'), '-t', 'syncmgr-deploy-test', out], { encoding: 'utf8', timeout: 590_000 });
    expect(build.status, build.stderr).toBe(0);
  }, 600_000);
});
