/**
 * Exit statuses scripts can tell apart (README "Exit status"): 0 ok, 1 a "no" answer or a refused
 * operation, 2 usage, 3 cannot connect, 4 authentication failed, 5 timed out. And `syncmgr ping`.
 */
import { createServer } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KEY, run, serve } from '../helpers/cli.js';
import { startSilentServer } from '../helpers/silent-server.js';
import { AUTHKEY } from '../helpers/server.js';

/** A TCP port nothing listens on: one the kernel gave out and got back. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

describe('syncmgr exit statuses', () => {
  let port: number;
  let env: Record<string, string>;
  let server: Awaited<ReturnType<typeof serve>>;

  beforeAll(async () => {
    server = await serve(['--port', '0', '--quiet'], { SYNCMGR_AUTHKEY: KEY });
    port = Number(/:(\d+)$/.exec(server.lines[0]!)![1]);
    env = { SYNCMGR_URL: `tcp://:${KEY}@127.0.0.1:${port}` };
  });

  afterAll(() => {
    server.child.kill('SIGKILL');
  });

  it('0: ping prints the round trip, the server version and its instance', async () => {
    const result = await run(['ping'], env);
    expect(result).toMatchObject({ code: 0, stderr: '' });
    expect(result.stdout).toMatch(/^pong from tcp:\/\/127\.0\.0\.1:\d+ in \d+(\.\d+)? ms: syncmgr\/\d+\.\d+\.\d+, instance [0-9a-f-]{36}\n$/);
  });

  it('1: a "no" answer (a missing key)', async () => {
    expect(await run(['get', 'no-such-key'], env)).toMatchObject({ code: 1, stderr: expect.stringContaining('[KEY_NOT_FOUND]') });
  });

  it('2: bad usage', async () => {
    expect((await run(['get', 'k', '--no-such-flag'], env)).code).toBe(2);
    expect((await run(['ping', '--port', 'x'], env)).code).toBe(2);
  });

  it('3: cannot connect (ping of a server that is down)', async () => {
    const result = await run(['ping', '--port', String(await closedPort()), '--authkey', KEY]);
    expect(result).toMatchObject({ code: 3, stdout: '', stderr: expect.stringContaining('[CONNECTION_FAILED]') });
  });

  it('4: authentication failed', async () => {
    const result = await run(['ping', '--port', String(port), '--authkey', 'wrong']);
    expect(result).toMatchObject({ code: 4, stderr: expect.stringContaining('[AUTH_FAILED]') });
  });

  it('5: no answer in time', async () => {
    const silent = await startSilentServer('tcp');
    const { port: silentPort } = silent.endpoint as { port: number };
    const result = await run(['get', 'k', '--port', String(silentPort), '--authkey', AUTHKEY, '--timeout', '0.5']);
    expect(result).toMatchObject({ code: 5, stderr: expect.stringContaining('[TIMEOUT]') });
  });
});
