/**
 * What a new user met in the CLI: the environment's key with an address given by flag, try-lock,
 * `set --json` / `--string`, and errors that say their code and what to do.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Client, connect } from '../../src/client/client.js';
import { KEY, run, serve } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';

describe('syncmgr CLI frictions', () => {
  let port: number;
  let socketPath: string;
  let env: Record<string, string>;
  let server: Awaited<ReturnType<typeof serve>>;
  let observer: Client;

  beforeAll(async () => {
    socketPath = join(tempDir(), 's.sock');
    server = await serve(['--port', '0', '--socket', socketPath, '--quiet'], { SYNCMGR_AUTHKEY: KEY }, 2);
    port = Number(/tcp:\/\/127\.0\.0\.1:(\d+)/.exec(server.lines.join('\n'))![1]);
    env = { SYNCMGR_URL: `tcp://:${KEY}@127.0.0.1:${port}` };
    observer = await connect({ url: env.SYNCMGR_URL });
  });

  afterAll(async () => {
    await observer.close();
    server.child.kill('SIGKILL');
  });

  it('uses the key of SYNCMGR_URL for an address given by --port or --socket', async () => {
    const elsewhere = { SYNCMGR_URL: `tcp://:${KEY}@127.0.0.1:1` };
    expect(await run(['set', 'k', '1', '--port', String(port)], elsewhere)).toMatchObject({ code: 0, stderr: '' });
    expect(await run(['get', 'k', '--socket', socketPath], elsewhere)).toMatchObject({ code: 0, stdout: '1\n' });
  });

  it('lock --timeout 0 tries once: runs the command when free, exits 1 at once when held', async () => {
    expect(await run(['lock', 'try', '--timeout', '0', '--', 'true'], env)).toMatchObject({ code: 0, stderr: '' });
    const held = await observer.lock('try').acquire();
    try {
      const result = await run(['lock', 'try', '--timeout', '0', '--', 'echo', 'ran'], env);
      expect(result).toMatchObject({ code: 1, stdout: '', stderr: expect.stringContaining('[TIMEOUT]') });
    } finally {
      await held.release();
    }
  });

  it('set --json refuses invalid JSON (exit 2, nothing stored); --string stores the text as it is', async () => {
    const bad = await run(['set', 'cfg', '{"a":1,', '--json'], env);
    expect(bad).toMatchObject({ code: 2, stderr: expect.stringMatching(/^syncmgr: .*not valid JSON.*\[CONFIG_ERROR\]\n$/) });
    expect(await observer.dict('default').has('cfg')).toBe(false);
    expect((await run(['set', 'cfg', '{"a":1}', '--json'], env)).code).toBe(0);
    expect(await observer.dict('default').get('cfg')).toEqual({ a: 1 });
    expect((await run(['set', 'cfg', '{"a":1}', '--string'], env)).code).toBe(0);
    expect(await observer.dict('default').get('cfg')).toBe('{"a":1}');
    expect((await run(['set', 'cfg', '1', '--json', '--string'], env)).code).toBe(2);
  });

  it('dump --out into a missing directory says so, with its code', async () => {
    const out = join(tempDir(), 'no-such-dir', 'f.json');
    const result = await run(['dump', '--out', out], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(`syncmgr: cannot write the dump to ${out}: its directory does not exist; create it first [ENOENT]\n`);
  });

  it('lock with a command that cannot be run says why, with its code and what to do', async () => {
    const result = await run(['lock', 'x', '--', 'no-such-command-xyz'], env);
    expect(result.code).toBe(127);
    expect(result.stderr).toBe('syncmgr: cannot run no-such-command-xyz: command not found; check its name and $PATH [ENOENT]\n');
  });

  it('check on a directory that does not exist says so, not DATA_CORRUPT', async () => {
    const dir = join(tempDir(), 'nonexistent');
    const result = await run(['check', '--data-dir', dir]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`syncmgr: no data directory at ${dir}: pass the --data-dir a server was started with [CONFIG_ERROR]\n`);
  });

  it('serve on an address in use says so, with its code and what to do', async () => {
    const result = await run(['serve', '--port', String(port), '--authkey', KEY]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/EADDRINUSE.*choose another --port.*\[EADDRINUSE\]\n$/);
  });
});

describe('syncmgr output for scripts', () => {
  let env: Record<string, string>;
  let server: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    server = await serve(['--port', '0', '--quiet'], { SYNCMGR_AUTHKEY: KEY });
    env = { SYNCMGR_URL: `tcp://:${KEY}@127.0.0.1:${/:(\d+)$/.exec(server.lines[0]!)![1]}` };
    const client = await connect({ url: env.SYNCMGR_URL });
    await client.dict('default').update({ a: 1, 'two words': { b: [2] } });
    await client.close();
  });

  afterAll(() => {
    server.child.kill('SIGKILL');
  });

  it('dump prints one line when stdout is not a terminal, indented with --pretty', async () => {
    expect(await run(['dump'], env)).toMatchObject({ code: 0, stdout: '{"a":1,"two words":{"b":[2]}}\n' });
    expect((await run(['dump', '--pretty'], env)).stdout).toBe('{\n  "a": 1,\n  "two words": {\n    "b": [\n      2\n    ]\n  }\n}\n');
  });

  it('objects lists every object, one per line or as JSON', async () => {
    const text = await run(['objects'], env);
    expect(text).toMatchObject({ code: 0, stderr: '' });
    expect(text.stdout).toMatch(/^dict\tdefault\t\d+ items$/m);
    const json = await run(['objects', '--json'], env);
    const objects = JSON.parse(json.stdout) as Array<{ type: string; name: string; items: number | null }>;
    expect(objects).toContainEqual({ type: 'dict', name: 'default', items: expect.any(Number) });
  });

  it('keys --json prints one JSON array', async () => {
    expect(await run(['keys', '--json'], env)).toMatchObject({ code: 0, stdout: '["a","two words"]\n' });
  });

  it('get --json prints JSON even for a string, and refuses --raw with it', async () => {
    expect((await run(['set', 's', 'text'], env)).code).toBe(0);
    expect(await run(['get', 's', '--json'], env)).toMatchObject({ code: 0, stdout: '"text"\n' });
    expect((await run(['get', 's', '--json', '--raw'], env)).code).toBe(2);
  });
});
