/**
 * A real full disk under a real `syncmgr serve --fsync always`: a 2 MiB tmpfs mounted for the test
 * (needs root and mount(2); CI runs as root). Every fatal persistence error must end the process
 * with a non-zero status, as docs/PERSISTENCE.md promises (issue 18 §5).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connect } from '../../src/client/client.js';
import { exitOf, KEY, serve } from '../helpers/cli.js';
import { onCleanup, tempDir } from '../helpers/server.js';

/** Mounts a tmpfs of `size` at a fresh directory; undefined (with why) when this process may not. */
function mountTmpfs(size: string): { dir: string } | { skip: string } {
  const dir = tempDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (err) {
    return { skip: `cannot mount a tmpfs here (${(err as Error).message.split('\n')[0]}): needs root and mount(2)` };
  }
  // Registered after tempDir's removal, so it runs before it (cleanups run newest first).
  onCleanup(() => {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  });
  return { dir };
}

const mounted = mountTmpfs('2m');

describe('disk full', () => {
  it.skipIf('skip' in mounted)(`ends serve with status 1 when the log cannot be written (fsync always)${'skip' in mounted ? `: skipped, ${mounted.skip}` : ''}`, async () => {
    const dataDir = join((mounted as { dir: string }).dir, 'data');
    mkdirSync(dataDir);
    const { child, lines, stderr } = await serve(['--port', '0', '--data-dir', dataDir, '--fsync', 'always', '--quiet'], { SYNCMGR_AUTHKEY: KEY });
    const exited = exitOf(child);
    const port = Number(/listening on tcp:\/\/[^:]+:(\d+)/.exec(lines.join('\n'))![1]);
    const client = await connect({ authkey: KEY, host: '127.0.0.1', port });
    const dict = client.dict('d');
    let failure: unknown;
    // 100 KB values: the 2 MiB disk is full after about 20.
    for (let i = 0; i < 100 && failure === undefined; i++) {
      await dict.set(`k${i}`, 'x'.repeat(100_000)).catch((err: unknown) => (failure = err));
    }
    expect(failure).toBeDefined();
    await client.close().catch(() => {});
    const code = await Promise.race([exited, new Promise<string>((resolve) => setTimeout(() => resolve('still running after 10 s'), 10_000))]);
    expect(stderr()).toMatch(/fatal: writing the log .* failed \(ENOSPC/);
    expect(code).toBe(1);
  });
});
