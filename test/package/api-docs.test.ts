/** `npm run docs`: the TypeDoc API reference builds from the TSDoc without warnings, internals left out. */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runProcess } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

const ROOT = join(import.meta.dirname, '../..');

describe('the API reference', () => {
  it('builds with no warning and documents the public API only', async () => {
    const out = tempDir();
    // typedoc.json sets treatWarningsAsErrors: a public type missing from the exports fails here.
    // TypeDoc takes ~15 s of CPU for the two entry points: on a loaded machine, more than 20 s.
    const result = await runProcess(process.execPath, [join(ROOT, 'node_modules/typedoc/bin/typedoc'), '--out', out], {}, ROOT, 110_000);
    expect(result.stdout + result.stderr).not.toMatch(/warning|error/i);
    expect(result.code).toBe(0);
    const client = readFileSync(join(out, 'classes/syncmgr.Client.html'), 'utf8');
    expect(client).toContain('id="ping"');
    for (const internal of ['request', 'hello', 'trackheld', 'requesttargets']) expect(client).not.toContain(`id="${internal}"`);
    expect(readFileSync(join(out, 'classes/syncmgr.LockProxy.html'), 'utf8')).not.toContain('id="releasetoken"');
    // The server has its own entry point, syncmgr/server.
    expect(readFileSync(join(out, 'classes/syncmgr_server.SyncServer.html'), 'utf8')).not.toContain('id="registry"');
    expect(readFileSync(join(out, 'modules/syncmgr_server.html'), 'utf8')).toContain('createServer');
    expect(existsSync(join(out, 'classes/syncmgr.DictProxy.html'))).toBe(true);
  }, 120_000);
});
