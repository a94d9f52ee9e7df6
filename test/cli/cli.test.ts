/** The CLI end to end: the real bin in child processes against a real `syncmgr serve`. */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, KEY, run, serve } from '../helpers/cli.js';
import { tempDir } from '../helpers/server.js';


describe('syncmgr CLI', () => {
  let port: number;
  let env: Record<string, string>;
  let socketPath: string;
  let server: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    const dir = tempDir();
    const keyFile = join(dir, 'key');
    writeFileSync(keyFile, `${KEY}\n`);
    socketPath = join(dir, 'cli.sock');
    server = await serve(['--authkey-file', keyFile, '--port', '0', '--socket', socketPath], {}, 2);
    port = Number(/tcp:\/\/127\.0\.0\.1:(\d+)/.exec(server.lines.join('\n'))![1]);
    env = { SYNCMGR_URL: `tcp://:${KEY}@127.0.0.1:${port}` };
  });

  afterAll(() => {
    server.child.kill('SIGKILL');
  });

  it('prints one line per listener it opened', () => {
    expect(server.lines).toHaveLength(2);
    expect(server.lines[0]).toMatch(/listening on tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(server.lines[1]).toContain(`listening on unix://${socketPath}`);
  });

  it('increments a counter and prints each new value', async () => {
    expect(await run(['incr', 'hits'], env)).toMatchObject({ code: 0, stdout: '1\n' });
    expect(await run(['incr', 'hits', '--by', '41'], env)).toMatchObject({ code: 0, stdout: '42\n' });
    expect(await run(['incr', 'hits', '--by', '-2.5'], env)).toMatchObject({ code: 0, stdout: '39.5\n' });
  });

  it('sets JSON values, or plain strings when the text is not JSON', async () => {
    expect((await run(['set', 'config', '{"retries":3,"hosts":["a","b"]}'], env)).code).toBe(0);
    expect((await run(['set', 'name', 'alice'], env)).code).toBe(0);
    expect(await run(['get', 'config'], env)).toMatchObject({ code: 0, stdout: '{"retries":3,"hosts":["a","b"]}\n' });
    expect(await run(['get', 'name'], env)).toMatchObject({ code: 0, stdout: '"alice"\n' });
    expect(await run(['get', 'name', '--raw'], env)).toMatchObject({ code: 0, stdout: 'alice\n' });
  });

  it('keeps dicts apart with --dict, and lists keys and dumps a dict', async () => {
    await run(['set', 'a', '1', '--dict', 'other'], env);
    await run(['set', '__proto__', '{"polluted":true}', '--dict', 'other'], env);
    expect(await run(['keys', '--dict', 'other'], env)).toMatchObject({ code: 0, stdout: 'a\n__proto__\n' });
    const dump = await run(['dump', '--dict', 'other'], env);
    expect(dump.code).toBe(0);
    expect(JSON.parse(dump.stdout)).toEqual(JSON.parse('{"a":1,"__proto__":{"polluted":true}}'));
  });

  it('deletes a key and says whether it existed', async () => {
    await run(['set', 'gone', 'x'], env);
    expect(await run(['del', 'gone'], env)).toMatchObject({ code: 0, stdout: 'true\n' });
    expect(await run(['del', 'gone'], env)).toMatchObject({ code: 0, stdout: 'false\n' });
    const missing = await run(['get', 'gone'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^syncmgr: .*\[KEY_NOT_FOUND\]\n$/);
  });

  it('connects through flags and the Unix socket as well as SYNCMGR_URL', async () => {
    expect(await run(['incr', 'via-flags', '--port', String(port), '--authkey', KEY])).toMatchObject({ code: 0, stdout: '1\n' });
    expect(await run(['incr', 'via-flags', '--socket', socketPath], { SYNCMGR_AUTHKEY: KEY })).toMatchObject({ code: 0, stdout: '2\n' });
  });

  it('fails with one line on stderr and a non-zero status on a wrong type', async () => {
    await run(['set', 'word', 'hello'], env);
    const result = await run(['incr', 'word'], env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^syncmgr: .*\[WRONG_TYPE\]\n$/);
    expect(await run(['get', 'word'], env)).toMatchObject({ stdout: '"hello"\n' });
  });

  it('fails with one line on stderr on a wrong authkey, and the server logs it without the key', async () => {
    const result = await run(['get', 'hits', '--port', String(port)], { SYNCMGR_AUTHKEY: 'not-the-key' });
    expect(result.code).toBe(4);
    expect(result.stderr).toMatch(/^syncmgr: .*\[AUTH_FAILED\]\n$/);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.stderr()).toMatch(/authentication failed/);
    expect(server.stderr()).not.toContain(KEY);
  });

  it('fails with one line on stderr when no server is running', async () => {
    const result = await run(['get', 'x', '--socket', join(tempDir(), 'nothing.sock'), '--authkey', KEY]);
    expect(result.code).toBe(3);
    expect(result.stderr).toMatch(/^syncmgr: .*\[CONNECTION_FAILED\]\n$/);
  });

  it('exits 2 on bad usage', async () => {
    expect((await run(['incr'], env)).code).toBe(2);
    expect((await run(['incr', 'x', '--by', 'lots'], env)).code).toBe(2);
    expect((await run(['frobnicate'], env)).code).toBe(2);
  });
});

describe('syncmgr serve', () => {
  it('refuses to start without a key and says how to give one', async () => {
    const result = await run(['serve', '--port', '0']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/--authkey-file/);
    expect(result.stderr).toMatch(/SYNCMGR_AUTHKEY/);
  });

  it('exits 0 on SIGTERM and on SIGINT, closing its clients', async () => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const { child, lines } = await serve(['--port', '0', '--quiet'], { SYNCMGR_AUTHKEY: KEY });
      const url = `tcp://:${KEY}@127.0.0.1:${/:(\d+)$/.exec(lines[0]!)![1]}`;
      expect(await run(['incr', 'n'], { SYNCMGR_URL: url })).toMatchObject({ code: 0, stdout: '1\n' });
      const exited = exitOf(child);
      child.kill(signal);
      expect(await exited).toBe(0);
    }
  });

  it('listens on a WebSocket port that clients reach with a ws:// URL', async () => {
    const { child, lines } = await serve(['--port', '0', '--ws-port', '0', '--quiet'], { SYNCMGR_AUTHKEY: KEY }, 2);
    const wsUrl = /(ws:\/\/\S+)/.exec(lines.join('\n'))![1]!;
    expect(await run(['incr', 'n', '--url', wsUrl], { SYNCMGR_AUTHKEY: KEY })).toMatchObject({ code: 0, stdout: '1\n' });
    child.kill('SIGTERM');
  });
});
